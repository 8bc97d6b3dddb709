"""Batched operations of the Couch port over ibmcloudant: `_bulk_docs`, keyed `_all_docs`, `_local/` docs.

A lookup streams its rows like a listing (api/upstream/rows.py): stored documents pass through as
bytes, so hostile ones (lone surrogates, deep nesting, big integers) are served as stored.
"""

from __future__ import annotations

import collections
from typing import Any, cast

import orjson
from ibmcloudant import CloudantV1

from api.errors import Problem
from api.upstream import deadline
from api.upstream.couch import BulkWritten, Json, Revision, Rows
from api.upstream.failures import translated
from api.upstream.json_scan import members, text
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
        return BulkWritten(_by_id(docs, response.get_result()), quorum=response.get_status_code() != 202)

    def revisions(self, db: str, ids: list[str]) -> dict[str, Revision]:
        # `_all_docs` by keys tells the three cases apart where `_bulk_docs` says `conflict` for all:
        # a live rev, a tombstone (value.deleted), or `error: not_found` (never written).
        deadline.start(self._deadline_seconds)
        with translated():
            rows: Any = self._call(lambda: self._client.post_all_docs(db, keys=ids)).get_result()
        rows = rows.get('rows') if isinstance(rows, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise _unmatched('read of revisions')
        # Each row answers the key it names, in whatever order the rows come: matched, never guessed.
        if sorted(map(_key, rows)) != sorted(ids):
            raise _unmatched('read of revisions')
        found = {}
        for row in rows:
            value = row.get('value')
            if isinstance(value, dict) and isinstance(value.get('rev'), str):
                found[row['key']] = Revision(value['rev'], value.get('deleted') is True)
        return found

    def lookup(self, db: str, ids: list[str], max_bytes: int | None = None) -> Rows:
        deadline.start(self._deadline_seconds)
        # Each row goes to the position of the key it names (the first open one for a repeated id):
        # rows in another order than the keys still answer the ids they belong to.
        slots: list[Json | None] = [None] * len(ids)
        positions: dict[str, collections.deque[int]] = collections.defaultdict(collections.deque)
        for position, doc_id in enumerate(ids):
            positions[doc_id].append(position)
        size = 0

        def request() -> Any:
            return self._client.post_all_docs_as_stream(db, keys=ids, include_docs=True)

        with streamed_items(self._call, request) as (items, scanner):
            for raw in items:  # read to the end: the connection goes back to the pool
                row = fields(raw)  # {} for `error: not_found`; a tombstone's doc is null
                key = _row_key(raw, row)
                if not positions.get(key):
                    raise _unmatched('lookup')  # a key not asked for, or more rows than keys
                position = positions[key].popleft()
                doc_id = ids[position]
                doc = row.get('doc', b'null')
                if doc == b'null':
                    slots[position] = dict(_MISSING, id=doc_id)
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
                slots[position] = {
                    'id': doc_id,
                    'rev': orjson.Fragment(row['rev']),
                    'doc': orjson.Fragment(doc),
                }
            scanner.rest()
        entries = [entry for entry in slots if entry is not None]
        if len(entries) != len(ids):
            raise _unmatched('lookup')  # a key left unanswered
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


def _by_id(docs: Rows, results: object) -> Rows:
    """`_bulk_docs` results in the order of `docs`, matched by id (every doc sent has one).

    The database may answer in another order (pouchdb-server does, now and then); pairing by position
    would give one item another's id and rev. A result set that does not match is no answer at all.
    """
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise _unmatched('bulk write')
    by_id = {r.get('id'): r for r in results}
    ordered = [by_id.get(doc['_id']) for doc in docs]
    if len(by_id) != len(results) or len(results) != len(docs) or None in ordered:
        raise _unmatched('bulk write')
    return cast(Rows, ordered)


def _key(row: Json) -> str:
    key = row.get('key')
    return key if isinstance(key, str) else ''


def _row_key(raw: bytes, row: dict[str, bytes]) -> str:
    # A row found has its id as its key; one not found says only its key (a small row: scanned).
    # text(): a lone surrogate survives; a key that is no string is BadJson (a 502, as for any row).
    return text(row['id'] if row else members(raw).get('key', b'null'))


def _unmatched(what: str) -> Problem:
    return Problem(
        502, 'bad-gateway', f'The database answered a {what} with results that do not match what was asked.'
    )
