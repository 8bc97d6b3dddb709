"""A TLS front that rewrites the result arrays of `_bulk_docs` and keyed `_all_docs` answers on command:
results out of request order (as the local server sometimes sends them), one missing, one extra."""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib
from collections.abc import Callable

from tests.support.http_relay import HEAD_END, Client, Request, copy_body, parse_head
from tests.support.tls_front import TLSFront

Transform = Callable[[list], list]
BULK, ALL_DOCS = '_bulk_docs', '_all_docs'  # the endpoints whose answers hold one result per item


def reversed_order(results: list) -> list:
    return results[::-1]


def rotated(results: list) -> list:
    """Each result one place later, the last first: no result where its item is (for 2 or more)."""
    return results[-1:] + results[:-1]


def one_dropped(results: list) -> list:
    """The last result missing: one item has no answer."""
    return results[:-1]


def one_added(results: list) -> list:
    """A result for an id nobody sent, at the end."""
    return [*results, _stranger(results)]


def one_replaced(results: list) -> list:
    """As many results as items, but the first one for an id nobody sent: one missing, one extra."""
    return [_stranger(results), *results[1:]]


def _stranger(results: list) -> dict:
    stranger = 'not-sent-' + '0' * 23
    rev = '1-' + '0' * 32
    if results and 'key' in results[0]:  # an `_all_docs` row
        return {'id': stranger, 'key': stranger, 'value': {'rev': rev}, 'doc': {'_id': stranger, '_rev': rev}}
    return {'ok': True, 'id': stranger, 'rev': rev}


class ReorderProxy(TLSFront):
    """The counting TLS front; answers of POST `_bulk_docs` / `_all_docs` rewritten by the rules set.

    rewrite(endpoint, transform, count) applies to requests arriving afterwards, from the test thread;
    heal() ends every rule. `rewritten[endpoint]` counts the answers changed, as the far end sees them.
    """

    def __init__(self, upstream: tuple[str, int], ssl_context, host: str = '127.0.0.1') -> None:
        super().__init__(upstream, ssl_context, host)
        self.rewritten: dict[str, int] = {BULK: 0, ALL_DOCS: 0}
        self.heal()

    def heal(self) -> None:
        with self._lock:
            self._rules: dict[str, tuple[Transform, int | None]] = {}
            self.rewritten = {BULK: 0, ALL_DOCS: 0}

    def rewrite(self, endpoint: str, transform: Transform = reversed_order, count: int | None = None) -> None:
        """Rewrite the result array of the next `count` answers from `endpoint` (None: all, until heal())."""
        with self._lock:
            self._rules[endpoint] = (transform, count)

    def _rule_for(self, request: Request) -> tuple[str, Transform] | None:
        endpoint = request.target.split('?')[0].rsplit('/', 1)[-1]
        with self._lock:
            rule = self._rules.get(endpoint) if request.method == 'POST' else None
            if rule is None:
                return None
            transform, count = rule
            if count is not None:
                if count <= 1:
                    del self._rules[endpoint]
                else:
                    self._rules[endpoint] = (transform, count - 1)
            return endpoint, transform

    async def _exchange(self, client: Client, request: Request) -> bool:
        rule = self._rule_for(request)
        if rule is None:
            return await super()._exchange(client, request)
        up_reader, head = await self._send_upstream(client, request)
        status_line, fields = parse_head(head)
        parts: list[bytes] = []

        async def keep(data: bytes) -> None:
            parts.append(data)

        upstream_closes = 'close' in fields.get('connection', '')
        if not await copy_body(up_reader, fields, keep):
            parts.append(await up_reader.read())  # delimited by the upstream closing
            upstream_closes = True
        body = _decoded(b''.join(parts), fields)
        status = int(status_line.split(' ', 2)[1])
        changed = self._changed(rule, body) if 200 <= status < 300 else None
        new_body = body if changed is None else changed
        client.writer.write(_head(head, len(new_body)) + new_body)
        await client.writer.drain()
        if upstream_closes:
            client.drop_upstream()
        return not (upstream_closes or request.wants_close)

    def _changed(self, rule: tuple[str, Transform], body: bytes) -> bytes | None:
        endpoint, transform = rule
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        if endpoint == BULK and isinstance(answer, list):
            answer = transform(answer)
        elif endpoint == ALL_DOCS and isinstance(answer, dict) and isinstance(answer.get('rows'), list):
            answer['rows'] = transform(answer['rows'])
        else:
            return None
        with self._lock:
            self.rewritten[endpoint] += 1
        return json.dumps(answer, ensure_ascii=False).encode()


def _decoded(body: bytes, fields: dict[str, str]) -> bytes:
    if 'chunked' in fields.get('transfer-encoding', ''):
        body = _unchunked(body)
    encoding = fields.get('content-encoding', '')
    if encoding == 'gzip':
        return gzip.decompress(body)
    if encoding == 'deflate':
        return zlib.decompress(body)
    return body


def _unchunked(framed: bytes) -> bytes:
    out: list[bytes] = []
    at = 0
    while True:
        end = framed.index(b'\r\n', at)
        size = int(framed[at:end].split(b';')[0], 16)
        if size == 0:
            return b''.join(out)
        out.append(framed[end + 2 : end + 2 + size])
        at = end + 2 + size + 2


def _head(head: bytes, length: int) -> bytes:
    """The upstream's head, the body now plain and `length` bytes long."""
    dropped = ('content-length', 'transfer-encoding', 'content-encoding')
    lines = head[: -len(HEAD_END)].split(b'\r\n')
    kept = [line for line in lines[1:] if line.split(b':')[0].strip().lower().decode() not in dropped]
    return b'\r\n'.join([lines[0], *kept, f'Content-Length: {length}'.encode()]) + HEAD_END


@contextlib.contextmanager
def fresh(proxy):
    """A session's proxy with nothing rewritten or cut off, no connections open, counters at zero."""
    proxy.heal()
    proxy.close_all_connections()
    proxy.reset()
    yield proxy
    proxy.heal()  # what a test left armed must not reach the next one
