"""The Couch port over ibmcloudant: CouchDB operations on the one pooled client of this worker."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import orjson
from ibm_cloud_sdk_core import ApiException
from ibmcloudant import CloudantV1

from api.errors import Problem
from api.upstream.couch import Doc, Json, Page, Rows, stale_rev
from api.upstream.failures import translated
from api.upstream.logins import Call, plainly


class CloudantCouch:
    """CouchDB operations over the one pooled client of this worker (satisfies the Couch port)."""

    def __init__(self, client: CloudantV1, call: Call = plainly) -> None:
        self._client = client
        # Runs each SDK call: with a cookie session, a 401 renews it and the call runs once more.
        self._call = call
        self._has_up = True

    def ping(self) -> None:
        with translated():
            if self._has_up:
                try:
                    self._call(self._client.get_up_information)
                    return
                except ApiException as e:
                    if e.status_code != 404:
                        raise
                    self._has_up = False  # no /_up here (pouchdb-server): GET / from now on
            self._call(self._client.get_server_information)

    def list(
        self,
        db: str,
        *,
        limit: int,
        start_key: str | None = None,
        end_key: str | None = None,
        include_docs: bool = False,
        descending: bool = False,
    ) -> Page:
        result = self._all_docs(
            db,
            limit=limit + 1,
            start_key=start_key,
            end_key=end_key,
            include_docs=include_docs,
            descending=descending,
        )
        # Inline, not a function per row: it showed in the benchmark's profile.
        rows = [
            {'id': r['id'], 'rev': r['value']['rev'], 'doc': r.get('doc')}
            if include_docs
            else {'id': r['id'], 'rev': r['value']['rev']}
            for r in result['rows']
            if 'error' not in r
        ]
        more = len(rows) > limit
        return Page(rows[:limit], result.get('total_rows', 0), rows[limit]['id'] if more else None)

    def documents(
        self, db: str, *, batch_size: int, start_key: str | None = None, end_key: str | None = None
    ) -> Generator[Rows, None, None]:
        """Every document from start_key to end_key, in key order: one upstream request per batch."""
        while True:
            rows = self._all_docs(
                db, include_docs=True, limit=batch_size + 1, start_key=start_key, end_key=end_key
            )['rows']
            yield [row['doc'] for row in rows[:batch_size] if row.get('doc')]
            if len(rows) <= batch_size:
                return
            start_key = rows[batch_size]['id']  # the extra row starts the next batch

    def _all_docs(self, db: str, **params: Any) -> Json:
        # As a stream, so orjson parses the raw bytes (the SDK's stdlib json was the largest cost
        # in the benchmark's profile). The body is read whole before anything is returned: no
        # response is ever left half-read, so the connection is back in the pool between calls.
        with translated():
            response = self._call(lambda: self._client.post_all_docs_as_stream(db, **params)).get_result()
            try:
                body = response.content
            finally:
                response.close()
        try:
            result = orjson.loads(body)
        except orjson.JSONDecodeError:
            result = None
        if not isinstance(result, dict) or not isinstance(result.get('rows'), list):
            raise Problem(502, 'bad-gateway', 'The database sent a listing that is not valid JSON.')
        return result

    def get(self, db: str, doc_id: str) -> Doc:
        with translated():
            body = self._call(lambda: self._client.get_document(db, doc_id)).get_result()
        return Doc(body['_id'], body['_rev'], body)

    def put(self, db: str, doc_id: str, body: Json, rev: str | None) -> str:
        """Create (rev None) or update the document; returns its new rev."""
        # The rev goes in the query, where the retry policy sees that a repeat would conflict.
        document = dict(body, _id=doc_id)
        with translated(conflict=stale_rev(rev), write=True):
            result = self._call(lambda: self._client.put_document(db, doc_id, document, rev=rev))
        return result.get_result()['rev']

    def create(self, db: str, body: Json) -> tuple[str, str]:
        with translated(write=True):
            result = self._call(lambda: self._client.post_document(db, body)).get_result()
        return result['id'], result['rev']

    def delete(self, db: str, doc_id: str, rev: str) -> None:
        try:
            with translated(conflict=stale_rev(rev), write=True):
                self._call(lambda: self._client.delete_document(db, doc_id, rev=rev))
        except Problem as refused:
            # CouchDB answers a rev that is not the current one with 409, pouchdb-server with 404
            # when that rev never existed: whether the document exists decides, 404 or 412.
            if refused.status_code not in (404, 412):
                raise
            self.get(db, doc_id)  # missing, deleted or no such database: its 404
            raise stale_rev(rev) from None

    def find(self, db: str, query: Json) -> Json:
        with translated():
            result = self._call(lambda: self._client.post_find(db, **query)).get_result()
        return {'docs': result.get('docs', []), 'bookmark': result.get('bookmark')}
