"""The reads of the Couch port over ibmcloudant: bodies streamed, rows sliced out, documents unparsed.

Every document the database can store is served: its bytes go to the client as they came, so no
parser's limits (lone surrogates, nesting, big integers) apply. Pages and export batches end at a
byte budget, and every read ends by the request's deadline (api/upstream/deadline.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from typing import Any
from urllib.parse import urlsplit

from ibmcloudant import CloudantV1

from api.errors import Problem
from api.upstream import deadline
from api.upstream.couch import Doc, Page
from api.upstream.design_block import DesignBlocks, from_the_block_start
from api.upstream.failures import translated
from api.upstream.id_range import clamped, rows_within, servable
from api.upstream.json_scan import ArrayItems, BadJson, members, text
from api.upstream.logins import Call
from api.upstream.row_sizes import READ_ON, RowSizes
from api.upstream.rows import Items, bad_json, has_utf8, listed, streamed_items

# The highest id when ids compare by code point (CouchDB's raw collation of _all_docs) ...
HIGHEST = '\U0010ffff' * 4
# ... and when they compare by UTF-16 code unit (pouchdb in memory, and Mango on any pouchdb:
# JavaScript strings), where U+E000-U+FFFF sort above U+10FFFF. Without an end key pouchdb stops
# after U+00FF.
HIGHEST_UTF16 = '\uffff' * 4
COUCHDB, POUCHDB_MEMORY, POUCHDB_LEVELDB = 'couchdb', 'pouchdb-memory', 'pouchdb-leveldb'
CLOUDANT_HOSTS = ('.cloudant.com', '.cloudantnosqldb.appdomain.cloud')  # CouchDB's order, known
Ranges = list[tuple[str | None, str | None]]  # the class's own `list` hides the builtin in it

_probing = threading.Lock()


class CloudantReads:
    """list and get of the Couch port, and the helpers of the other reads (export_reads.py, view_reads.py)."""

    _client: CloudantV1
    _call: Call
    _deadline_seconds: float
    _designs: DesignBlocks
    _sizes: RowSizes
    _kind: str | None = None  # COUCHDB, POUCHDB_MEMORY or POUCHDB_LEVELDB, once asked

    def list(
        self,
        db: str,
        *,
        limit: int,
        start_key: str | None = None,
        end_key: str | None = None,
        include_docs: bool = False,
        descending: bool = False,
        max_bytes: int | None = None,
        id_prefix: str | None = None,
    ) -> Page:
        deadline.start(self._deadline_seconds)
        if id_prefix is not None:
            keys = self._within(id_prefix, start_key, end_key, descending)
            if keys is None:
                return Page([], 0, None)  # the range holds no id of the prefix: nothing to ask
            start_key, end_key = keys
        if descending and start_key is None:
            start_key = self._highest_id()
        if not descending and end_key is None:
            end_key = self._highest_id()
        params: dict[str, Any] = {'include_docs': include_docs}
        rows: list[Any] = []
        size, next_key, total_rows, skip = 0, None, None, 0
        met, passed, origin = 0, False, start_key  # design documents met, and a listed row after them
        extra = self._designs.expected(db, start_key, end_key, descending=descending)
        budget = max_bytes if include_docs else None  # rows of ids alone: a page of 1000 is small
        while True:
            wanted = limit - len(rows)
            fitting = self._sizes.fitting(db, None if budget is None else budget - size, wanted)
            ask, seen, last, read, counted, cut = fitting + 1 + extra, 0, b'', 0, 0, False
            # The part of the range the server answers in one request (two parts: pouchdb on disk).
            (params['start_key'], params['end_key']), *following = self._servable(
                start_key, end_key, descending
            )
            with self._items(
                lambda ask=ask, skip=skip: self._client.post_all_docs_as_stream(
                    db, limit=ask, skip=skip or None, descending=descending, **params
                )
            ) as (items, scanner):
                for raw in rows_within(items, id_prefix):
                    seen, last = seen + 1, raw
                    row = listed(raw, include_docs)
                    met += row is None
                    passed = passed or (met > 0 and row is not None)
                    if row is None:
                        continue  # a design document: not listed
                    read, counted = read + len(raw), counted + 1
                    if next_key is not None:
                        # Rows asked for in case of design documents, or above the estimate: read on
                        # (the connection goes back to the pool), unless far more came than fits.
                        cut = budget is not None and read > READ_ON * budget
                        if cut:
                            break
                    elif len(rows) == limit:
                        next_key = text(members(raw)['id'])  # the extra row
                    elif max_bytes is not None and rows and size + len(raw) > max_bytes:
                        next_key = text(members(raw)['id'])
                        cut = budget is None  # not sized to fit: the rest is left unread, connection closed
                        if cut:
                            break
                    else:
                        rows.append(row)
                        size += len(raw)
                rest = scanner.rest(complete=not cut)
            total_rows = rest.get('total_rows', 0) if total_rows is None else total_rows
            if include_docs:
                self._sizes.saw(db, read, counted)
            if met:
                self._designs.met(
                    db, met, whole=passed and from_the_block_start(origin, descending=descending)
                )
            # Design documents are not listed and spend none of the limit, and a page asks for what
            # fits its bytes: one that had all it asked for and is not full goes on after the last row.
            if next_key is not None or (seen < ask and not following):
                return Page(rows, total_rows, next_key)
            if seen < ask:
                start_key, skip = following[0][0], 0  # this part of the range is done: the next one
            else:
                start_key, skip = text(members(last)['id']), 1

    def get(self, db: str, doc_id: str) -> Doc:
        deadline.start(self._deadline_seconds)
        if not has_utf8(doc_id):
            return self._get_by_key(db, doc_id)
        with translated():
            response = self._call(lambda: self._client.get_document_as_stream(db, doc_id)).get_result()
            try:
                raw = b''.join(deadline.chunks(response))
            finally:
                response.close()
        try:
            found = members(raw)
            return Doc(text(found['_id']), text(found['_rev']), raw)
        except (BadJson, KeyError):
            raise bad_json('document') from None

    def _get_by_key(self, db: str, doc_id: str) -> Doc:
        # An id no URL can carry (a lone surrogate): asked for by key, in a JSON body.
        with self._items(
            lambda: self._client.post_all_docs_as_stream(db, keys=[doc_id], include_docs=True)
        ) as (items, scanner):
            rows = [members(raw) for raw in items]
            scanner.rest()
        doc = rows[0].get('doc', b'null') if rows and 'error' not in rows[0] else b'null'
        if doc == b'null':
            raise Problem(404, 'not-found', 'No document with this id.')
        return Doc(doc_id, text(members(rows[0]['value'])['rev']), doc)

    def _items(self, request: Callable, member: str = 'rows') -> ContextManager[tuple[Items, ArrayItems]]:
        return streamed_items(self._call, request, member)

    def _within(
        self, prefix: str, start_key: str | None, end_key: str | None, descending: bool
    ) -> tuple[str, str] | None:
        highest = self._highest_id()
        utf16 = self._server() == POUCHDB_MEMORY
        return clamped(prefix, start_key, end_key, descending=descending, highest=highest, utf16=utf16)

    def _highest_id(self) -> str:
        """The highest id in the order the server's `_all_docs` compares ids in."""
        return HIGHEST_UTF16 if self._server() == POUCHDB_MEMORY else HIGHEST

    def _servable(self, start: str | None, end: str | None, descending: bool) -> Ranges:
        """The range as requests the server answers in full: one, or two for pouchdb on disk."""
        parts = servable(start, end, descending=descending)
        # Asked of the server only when the two orders disagree on this range.
        return parts if len(parts) == 1 or self._server() == POUCHDB_LEVELDB else [(start, end)]

    def _server(self) -> str:
        # How the server orders ids: asked once per worker (GET /), then known. pouchdb-server on
        # disk (leveldb) keeps code point order, in memory JavaScript's (UTF-16 units).
        with _probing:
            if self._kind is None and _is_cloudant(self._client.service_url or ''):
                self._kind = COUCHDB  # IBM Cloudant's own hosts: nothing to ask
            if self._kind is None:
                with translated():
                    info: Any = self._call(self._client.get_server_information).get_result()
                adapters = info.get('pouchdb-adapters') if isinstance(info, dict) else None
                if not isinstance(info, dict) or 'express-pouchdb' not in info:
                    self._kind = COUCHDB
                elif isinstance(adapters, list) and adapters[:1] == ['memory']:
                    self._kind = POUCHDB_MEMORY
                else:
                    self._kind = POUCHDB_LEVELDB
        return self._kind


def _is_cloudant(url: str) -> bool:
    host = urlsplit(url).hostname or ''
    return host.endswith(CLOUDANT_HOSTS)
