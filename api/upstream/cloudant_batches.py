"""Batched operations of the Couch port over ibmcloudant: `_bulk_docs`, keyed `_all_docs`, `_local/` docs.

A lookup streams its rows like a listing (api/upstream/rows.py): stored documents pass through as
bytes, so hostile ones (lone surrogates, deep nesting, big integers) are served as stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from ibmcloudant import CloudantV1

from api.errors import Problem
from api.upstream import deadline
from api.upstream.couch import BulkWritten, Json, Revision, Rows
from api.upstream.failures import translated
from api.upstream.logins import Call
from api.upstream.rows import bad_json, fields, streamed_items

_MISSING = {'status': 404}


class CloudantBatches:
    """bulk, revisions, lookup and the `_local/` documents (CloudantCouch inherits them)."""

    _client: CloudantV1
    _call: Call
    _deadline_seconds: float

    def bulk(self, db: str, docs: Rows) -> BulkWritten:
        deadline.start(self._deadline_seconds)
        # A POST: never resent by the retry policy; cut off after sending, it "may have been applied".
        with translated(write=True):
            response = self._call(lambda: self._client.post_bulk_docs(db, {'docs': docs}))
        results: Any = response.get_result()
        if not isinstance(results, list) or len(results) != len(docs):
            raise Problem(502, 'bad-gateway', 'The database answered a bulk write with an unusable body.')
        return BulkWritten(results, quorum=response.get_status_code() != 202)

    def revisions(self, db: str, ids: list[str]) -> dict[str, Revision]:
        # `_all_docs` by keys tells the three cases apart where `_bulk_docs` says `conflict` for all:
        # a live rev, a tombstone (value.deleted), or `error: not_found` (never written).
        deadline.start(self._deadline_seconds)
        with translated():
            rows: Any = self._call(lambda: self._client.post_all_docs(db, keys=ids)).get_result()
        found = {}
        for row in rows.get('rows', []) if isinstance(rows, dict) else []:
            value = row.get('value') if isinstance(row, dict) else None
            if isinstance(value, dict) and isinstance(value.get('rev'), str):
                found[row['id']] = Revision(value['rev'], value.get('deleted') is True)
        return found

    def lookup(self, db: str, ids: list[str], max_bytes: int | None = None) -> Rows:
        deadline.start(self._deadline_seconds)
        entries: Rows = []
        size = 0

        def request() -> Any:
            return self._client.post_all_docs_as_stream(db, keys=ids, include_docs=True)

        with streamed_items(self._call, request) as (items, scanner):
            for raw in items:  # read to the end: the connection goes back to the pool
                if len(entries) == len(ids):
                    raise bad_json('listing')  # more rows than keys
                doc_id, row = (
                    ids[len(entries)],
                    fields(raw),
                )  # {} for `error: not_found`; a tombstone's doc is null
                doc = row.get('doc', b'null')
                if doc == b'null':
                    entries.append(dict(_MISSING, id=doc_id))
                    continue
                size += len(doc)
                if max_bytes is not None and size > max_bytes and size > len(doc):
                    # The rest is left unread (connection closed): memory stays bounded per request.
                    raise Problem(
                        413,
                        'lookup-too-large',
                        f'The documents asked for hold more than {max_bytes} bytes (API_MAX_PAGE_BYTES): '
                        'ask for fewer ids at a time.',
                    )
                entries.append({'id': doc_id, 'rev': orjson.Fragment(row['rev'])})
                entries[-1]['doc'] = orjson.Fragment(doc)
            scanner.rest()
        if len(entries) != len(ids):
            raise bad_json('listing')
        return entries

    def get_local(self, db: str, name: str) -> tuple[Json, str] | None:
        deadline.start(self._deadline_seconds)
        try:
            with translated():
                # The SDK streams this one (it may be multipart): a small record, read at once.
                response: Any = self._call(lambda: self._client.get_local_document(db, name)).get_result()
                try:
                    found = orjson.loads(response.content)
                except orjson.JSONDecodeError:
                    raise bad_json('record') from None
                finally:
                    response.close()
        except Problem as refused:
            # No such record: None; no such database keeps its own 404.
            if refused.status_code == 404 and 'database' not in str(refused.description):
                return None
            raise
        return found, found['_rev']

    def put_local(self, db: str, name: str, body: Json, rev: str | None) -> str:
        document = dict(body, **({'_rev': rev} if rev else {}))
        with translated(conflict=Problem(409, 'conflict', 'The record changed meanwhile.')):
            result: Any = self._call(lambda: self._client.put_local_document(db, name, document)).get_result()
        return result['rev']
