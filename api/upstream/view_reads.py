"""View queries of the Couch port: rows streamed and passed through as the database sent them.

Documents (include_docs) and emitted keys and values may be anything another client stored: each
row goes to the client as its raw JSON (orjson.Fragment), and a page ends at the byte budget. Keys
go upstream as the JSON text the client sent, so no value is re-encoded on the way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from ibm_cloud_sdk_core import DetailedResponse

from api.upstream import deadline
from api.upstream.cloudant_reads import COUCHDB
from api.upstream.couch import ViewPage, ViewQuery
from api.upstream.export_reads import ExportReads
from api.upstream.json_scan import members, text

_JSON = {'content-type': 'application/json', 'Accept': 'application/json'}


class ViewReads(ExportReads):
    """view() of the Couch port (CloudantCouch inherits it)."""

    def view(self, db: str, ddoc: str, view: str, query: ViewQuery, max_bytes: int | None = None) -> ViewPage:
        deadline.start(self._deadline_seconds)
        params = dict(query.params)
        # pouchdb ignores start_key_doc_id: it is applied here instead, by reading past the rows of
        # the start key before that id (no limit upstream then; reading stops once the page is full).
        emulated = 'start_key_doc_id' in params and self._server() != COUCHDB
        if not emulated:
            params['limit'] = str(query.limit + 1)  # the extra row tells whether more follow
        body = ('{' + ','.join(f'{json.dumps(k)}:{v}' for k, v in params.items()) + '}').encode()
        path = '/{}/_design/{}/_view/{}'.format(*self._client.encode_path_vars(db, ddoc, view))

        def request() -> DetailedResponse:
            prepared = self._client.prepare_request(method='POST', url=path, headers=_JSON, data=body)
            return self._client.send(prepared, stream=True)

        skip = _Before(params, query.params.get('descending') == 'true') if emulated else None
        rows: list[Any] = []
        size, extra, stopped = 0, None, False
        with self._items(request) as (items, scanner):
            for raw in items:
                if skip is not None:
                    if skip(raw):
                        continue
                    skip = None
                if len(rows) == query.limit or (
                    max_bytes is not None and rows and size + len(raw) > max_bytes
                ):
                    extra = raw
                    # With the extra row asked for, only `]}` follows: read on, the connection is kept.
                    stopped = emulated or len(rows) < query.limit
                    if stopped:
                        break
                    continue
                rows.append(orjson.Fragment(raw))
                size += len(raw)
            scanner.rest(complete=not stopped)
        if extra is None or not query.paged:
            return ViewPage(rows, None, None, extra is not None)
        found = members(extra)
        return ViewPage(rows, found['key'].decode('utf-8', 'replace'), text(found['id']), True)


class _Before:
    """Whether a row comes before (start_key, start_key_doc_id), in pouchdb's order of ids (UTF-16)."""

    def __init__(self, params: dict[str, str], descending: bool) -> None:
        self._key = json.loads(params['start_key'])
        self._doc_id = _utf16(json.loads(params['start_key_doc_id']))
        self._descending = descending

    def __call__(self, raw: bytes) -> bool:
        found = members(raw)
        try:
            key = json.loads(found['key'].decode('utf-8', 'replace'))
        except (ValueError, RecursionError):
            return False  # nested beyond the parser: not the client's start key, which was parsed
        if not _same(key, self._key):
            return False
        doc_id = _utf16(text(found['id']))
        return doc_id > self._doc_id if self._descending else doc_id < self._doc_id


def _utf16(doc_id: str) -> bytes:
    return doc_id.encode('utf-16-be', 'surrogatepass')


def _same(a: Any, b: Any) -> bool:
    """Equal as view keys: 1 and 1.0 are one key, true and 1 are not (Python's == says they are)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return (type(a) is type(b) or numbers) and a == b
