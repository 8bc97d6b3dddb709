"""The Couch port over ibmcloudant: CouchDB operations on the one pooled client of this worker."""

from __future__ import annotations

import orjson
from ibm_cloud_sdk_core import ApiException
from ibmcloudant import CloudantV1

from api.errors import Problem
from api.upstream import deadline
from api.upstream.changes_reads import ChangesReads
from api.upstream.cloudant_batches import CloudantBatches
from api.upstream.cloudant_reads import COUCHDB, HIGHEST, HIGHEST_UTF16
from api.upstream.couch import Json, stale_rev
from api.upstream.design_block import DesignBlocks
from api.upstream.failures import translated
from api.upstream.id_range import query_within, rows_within
from api.upstream.logins import Call, plainly
from api.upstream.row_sizes import RowSizes
from api.upstream.sync_calls import SyncCalls
from api.upstream.view_reads import ViewReads

Fragments = list[orjson.Fragment]  # documents as the database sent them


class CloudantCouch(ViewReads, ChangesReads, SyncCalls, CloudantBatches):
    """CouchDB operations over the one pooled client of this worker (satisfies the Couch port)."""

    def __init__(
        self,
        client: CloudantV1,
        call: Call = plainly,
        deadline_seconds: float = 20.0,
        designs: DesignBlocks | None = None,
    ) -> None:
        self._client = client
        # Runs each SDK call: with a cookie session, a 401 renews it and the call runs once more.
        self._call = call
        self._has_up = True
        self._deadline_seconds = deadline_seconds  # per API request (per batch of an export)
        self._designs = designs or DesignBlocks()  # how many rows past a page's limit to ask for
        self._sizes = RowSizes()  # how many rows with documents fit a page's bytes

    def ping(self) -> None:
        deadline.start(self._deadline_seconds)
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

    def find(self, db: str, query: Json, id_prefix: str | None = None, max_bytes: int | None = None) -> Json:
        deadline.start(self._deadline_seconds)
        if id_prefix is not None:
            # Mango compares as JavaScript does on any pouchdb, by ICU collation on CouchDB.
            pouchdb = self._server() != COUCHDB
            query = query_within(
                query, id_prefix, highest=HIGHEST_UTF16 if pouchdb else HIGHEST, utf16=pouchdb
            )
        whole_docs = not query.get('fields')  # projections are smaller than what pages of the db saw
        wanted = query.get('limit', 25)  # CouchDB's default
        if (
            whole_docs
            and isinstance(wanted, int)
            and (fitting := self._sizes.fitting(db, max_bytes, wanted, spare=False)) < wanted
        ):
            query = dict(query, limit=fitting)  # what fits the bytes: fewer documents, and the bookmark
        docs, bookmark, cut, size = self._found(db, query, id_prefix, max_bytes)
        if whole_docs:
            self._sizes.saw(db, size, len(docs))
        if cut:
            # Ended early by bytes, before the bookmark (it follows the docs): ask again for just
            # what fitted, read to the end, so the client's next query starts after the last doc.
            docs, bookmark, _, _ = self._found(db, dict(query, limit=len(docs)), id_prefix, None)
        return {'docs': docs, 'bookmark': bookmark}

    def _found(
        self, db: str, query: Json, id_prefix: str | None, max_bytes: int | None
    ) -> tuple[Fragments, str | None, bool, int]:
        docs: Fragments = []
        size = 0
        with self._items(lambda: self._client.post_find_as_stream(db, **query), member='docs') as (
            items,
            scanner,
        ):
            for raw in rows_within(items, id_prefix, '_id'):
                if max_bytes is not None and docs and size + len(raw) > max_bytes:
                    return docs, None, True, size  # the rest is left unread: connection closed
                docs.append(orjson.Fragment(raw))
                size += len(raw)
            return docs, scanner.rest().get('bookmark'), False, size
