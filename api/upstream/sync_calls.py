"""The replication calls of the Couch port: what a replicator asks of a database, in CouchDB's shapes.

Ids arrive here as the database holds them (api/sync maps a principal's ids in and out). Answers are
read within a byte budget: past it, a 413 problem, never an answer held whole in memory.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from api.errors import Problem
from api.upstream import deadline
from api.upstream.cloudant_reads import CloudantReads
from api.upstream.couch import Json, Rows
from api.upstream.failures import translated
from api.upstream.json_values import dumps, loads
from api.upstream.rows import bad_json

_JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
ANSWER_LIMIT = 16 * 1024 * 1024  # bytes of an answer whose size follows its request's (revs_diff, bulk_docs)
TOO_LARGE = (
    'The answer is larger than couchgate serves at once (API_MAX_PAGE_BYTES): ask for fewer documents.'
)


def _parsed(raw: bytes) -> Any:
    try:
        return loads(raw)
    except ValueError:
        raise bad_json('answer') from None


class SyncCalls(CloudantReads):
    """database_info, revs_diff, bulk_get, open_revs, attachment, replicate and delete_local."""

    def database_info(self, db: str) -> Json:
        deadline.start(self._deadline_seconds)
        return self._exchange('GET', db, '', max_bytes=64 * 1024)

    def revs_diff(self, db: str, revs: dict[str, list[str]]) -> Json:
        deadline.start(self._deadline_seconds)
        return self._exchange('POST', db, '/_revs_diff', body=revs) if revs else {}

    def bulk_get(self, db: str, docs: Rows, *, params: dict[str, str], max_bytes: int) -> Rows:
        deadline.start(self._deadline_seconds)
        if not docs:
            return []
        answer = self._exchange(
            'POST', db, '/_bulk_get', params=params, body={'docs': docs}, max_bytes=max_bytes
        )
        results = answer.get('results') if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise bad_json('answer')
        return results

    def open_revs(self, db: str, doc_id: str, params: dict[str, str], max_bytes: int) -> Any:
        deadline.start(self._deadline_seconds)
        return self._exchange('GET', db, '/' + quote(doc_id, safe=''), params=params, max_bytes=max_bytes)

    def attachment(
        self, db: str, doc_id: str, name: str, rev: str | None, max_bytes: int
    ) -> tuple[str, bytes]:
        deadline.start(self._deadline_seconds)
        path = '/{}/{}'.format(quote(doc_id, safe=''), quote(name, safe=''))
        response = self._send('GET', db, path, params={'rev': rev} if rev else {}, accept='*/*')
        return response.headers.get('Content-Type', 'application/octet-stream'), self._read(
            response, max_bytes
        )

    def replicate(self, db: str, docs: Rows) -> Rows:
        deadline.start(self._deadline_seconds)
        if not docs:
            return []
        answer = self._exchange(
            'POST', db, '/_bulk_docs', body={'docs': docs, 'new_edits': False}, write=True
        )
        return answer if isinstance(answer, list) else []

    def delete_local(self, db: str, name: str, rev: str | None) -> None:
        deadline.start(self._deadline_seconds)
        path = '/_local/' + quote(name, safe='')
        self._exchange('DELETE', db, path, params={'rev': rev} if rev else {}, conflict=True)

    def _exchange(
        self,
        method: str,
        db: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        max_bytes: int | None = None,
        write: bool = False,
        conflict: bool = False,
    ) -> Any:
        response = self._send(
            method, db, path, params=params or {}, body=body, write=write, conflict=conflict
        )
        return _parsed(self._read(response, ANSWER_LIMIT if max_bytes is None else max_bytes))

    def _send(
        self,
        method: str,
        db: str,
        path: str,
        *,
        params: dict[str, str],
        body: Any = None,
        accept: str = 'application/json',
        write: bool = False,
        conflict: bool = False,
    ) -> Any:
        url = '/{}'.format(*self._client.encode_path_vars(db)) + path
        headers = dict(_JSON, Accept=accept)
        data = None if body is None else dumps(body)
        prepared = self._client.prepare_request(
            method=method, url=url, headers=headers, params=params, data=data
        )
        refused = Problem(409, 'conflict', 'The record changed meanwhile.') if conflict else None
        with translated(conflict=refused, write=write):
            return self._call(lambda: self._client.send(prepared, stream=True)).get_result()

    def _read(self, response: Any, max_bytes: int | None) -> bytes:
        body = bytearray()
        with translated():
            try:
                for chunk in deadline.chunks(response):
                    body += chunk
                    if max_bytes is not None and len(body) > max_bytes:
                        raise Problem(413, 'payload-too-large', TOO_LARGE)
            finally:
                response.close()
        return bytes(body)
