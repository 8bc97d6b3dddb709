"""The Couch port: the CouchDB operations the resources call, as a typing.Protocol.

The real adapter (api/upstream/cloudant_couch.py) and the tests' fake both satisfy it, and mypy
checks that where the container binds them. Failures arrive as API problems (api/errors.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any, Protocol, TypeAlias

from api.errors import Problem
from api.upstream.spool import Batch

Json: TypeAlias = dict[str, Any]  # a JSON object: a document, a row, a query
Rows: TypeAlias = list[Json]
Ids: TypeAlias = list[str]  # a name of its own: inside the port, `list` is a method


@dataclasses.dataclass(frozen=True)
class Doc:
    """A document and its current revision; `raw` is its JSON exactly as the database sent it."""

    id: str
    rev: str
    raw: bytes


@dataclasses.dataclass(frozen=True)
class Revision:
    """A document's current rev, and whether that rev is a deletion (a tombstone)."""

    rev: str
    deleted: bool


@dataclasses.dataclass(frozen=True)
class BulkWritten:
    """The upstream's answer to `_bulk_docs`: one result per document in order; quorum False on a 202."""

    results: Rows
    quorum: bool


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of `_all_docs`: rows in order, and whether more follow.

    A row is `{"id", "rev"[, "doc"]}`: a dict, or the same as an orjson.Fragment (the usual row,
    built as bytes). A dict's `doc` (and `id`) may be an orjson.Fragment: the stored JSON, unparsed.
    """

    rows: list[Any]
    total_rows: int
    next_key: str | None


@dataclasses.dataclass(frozen=True)
class ViewQuery:
    """A view query as it goes upstream: each parameter as JSON text (keys exactly as the client sent them).

    `paged`: map rows, whose next page starts at the row after the last (start_key and
    start_key_doc_id); otherwise (reduced rows, multi-key queries) one answer, at most `limit` rows.
    """

    params: dict[str, str]
    limit: int
    paged: bool


@dataclasses.dataclass(frozen=True)
class ViewPage:
    """Rows of a view (orjson.Fragments: as the database sent them), and where the next page starts.

    `next_key` is the next row's key as JSON text and `next_doc_id` its document's id (paged queries);
    `more` says that rows were left out (by `limit` or the byte budget), paged or not.
    """

    rows: list[Any]
    next_key: str | None
    next_doc_id: str | None
    more: bool


@dataclasses.dataclass(frozen=True)
class Change:
    """One change of the feed: the document's id and current rev; `doc` its stored JSON (include_docs)."""

    seq: str  # opaque: a string on CouchDB and Cloudant, a number on pouchdb-server, always text here
    id: str
    rev: str
    deleted: bool = False
    doc: bytes | None = None
    leaves: tuple[str, ...] = ()  # every leaf rev, conflicts too (asked for with all_leaves)


@dataclasses.dataclass(frozen=True)
class Changes:
    """Changes in the database's order; `last_seq` is where the next page starts.

    `more`: the page stopped at its limit or byte budget, so more may follow at once; otherwise the
    feed was read to its end (`last_seq` is then the database's, past changes nobody here may see).
    """

    results: list[Change]
    last_seq: str
    more: bool


@dataclasses.dataclass(frozen=True)
class Replication:
    """What a replicator asks of a changes read beyond what the API's feed does."""

    all_leaves: bool = False  # each change's `leaves`: every leaf revision (style=all_docs)
    doc_ids: Ids | None = None  # only these ids (filter=_doc_ids), already confined by the caller
    conflicts: bool = False  # with include_docs: each document with its `_conflicts`
    descending: bool = False  # newest first: one upstream page


class Couch(Protocol):
    """CouchDB operations on the databases of the allowlist."""

    def ping(self) -> None:
        """The server answers; a 503/502 problem otherwise."""

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
        """One page of documents by id; it ends early (at least one row) once it holds max_bytes.

        With id_prefix, only ids starting with it: the upstream key range itself is clamped.
        """

    def documents(
        self,
        db: str,
        *,
        batch_size: int,
        max_bytes: int | None = None,
        start_key: str | None = None,
        end_key: str | None = None,
        id_prefix: str | None = None,
    ) -> Generator[Batch, None, None]:
        """Every document from start_key to end_key in id order, one batch per upstream request.

        A batch holds at most batch_size documents and, past its first, about max_bytes of them;
        with id_prefix, only ids starting with it (the key range clamped upstream).
        """

    def get(self, db: str, doc_id: str) -> Doc:
        """The current revision of a document; 404 problem if there is none."""

    def put(self, db: str, doc_id: str, body: Json, rev: str | None) -> str:
        """Create (rev None) or update the document; returns its new rev."""

    def create(self, db: str, body: Json) -> tuple[str, str]:
        """A new document, its id from the body or the server; returns (id, rev)."""

    def delete(self, db: str, doc_id: str, rev: str) -> None:
        """Delete the document at its current rev."""

    def bulk(self, db: str, docs: Rows) -> BulkWritten:
        """One `_bulk_docs` request; results as the database gave them ({id, rev} or {id, error})."""

    def revisions(self, db: str, ids: Ids) -> dict[str, Revision]:
        """The current rev of each id, one batched read; an id never written is absent."""

    def lookup(self, db: str, ids: Ids, max_bytes: int | None = None) -> Rows:
        """The documents of `ids` in order, one upstream request: {id, rev, doc} or {id, status: 404}.

        `doc` is an orjson.Fragment, the stored JSON unparsed. Past max_bytes (after the first
        document) a 413 problem: the answer is not held in memory beyond it.
        """

    def get_local(self, db: str, name: str) -> tuple[Json, str] | None:
        """A `_local/` document (not listed, not replicated) and its rev; None if there is none."""

    def put_local(self, db: str, name: str, body: Json, rev: str | None) -> str:
        """Create (rev None) or update a `_local/` document; a 409 problem if another got there first."""

    def find(self, db: str, query: Json, id_prefix: str | None = None, max_bytes: int | None = None) -> Json:
        """A Mango query: {'docs': [...], 'bookmark': ...}; docs may be orjson.Fragments.

        With id_prefix, the selector is ANDed upstream with an `_id` range and pattern of the prefix.
        With max_bytes, fewer docs than the limit when more would exceed it (always at least one).
        """

    def view(self, db: str, ddoc: str, view: str, query: ViewQuery, max_bytes: int | None = None) -> ViewPage:
        """Rows of a view of design document `ddoc`; it ends early (at least one row) at max_bytes."""

    def changes(
        self,
        db: str,
        *,
        since: str,
        limit: int,
        include_docs: bool = False,
        id_prefix: str | None = None,
        wait: float = 0.0,
        max_bytes: int | None = None,
        replication: Replication | None = None,
    ) -> Changes:
        """Up to `limit` changes after `since`, never of a design document; with id_prefix, only
        ids starting with it (filtered upstream, so `limit` counts the prefix's own changes); with
        `replication`, what a replicator asks for besides (every leaf, some ids, conflicts, order).

        With `wait`, a long poll: when nothing is new, the answer waits up to `wait` seconds for a
        change. With max_bytes, the page ends early (at least one change) once it holds that many.
        """

    def database_info(self, db: str) -> Json:
        """The database's own description (update_seq, instance_start_time, counts)."""

    def revs_diff(self, db: str, revs: dict[str, Ids]) -> Json:
        """`_revs_diff`: of these revisions per id, those the database lacks."""

    def bulk_get(self, db: str, docs: Rows, *, params: dict[str, str], max_bytes: int) -> Rows:
        """`_bulk_get` results ({id, docs: [{ok} | {error}]}); a 413 problem past max_bytes."""

    def open_revs(self, db: str, doc_id: str, params: dict[str, str], max_bytes: int) -> Any:
        """A document read with CouchDB's query (rev, revs, open_revs, latest, ...), as JSON."""

    def attachment(
        self, db: str, doc_id: str, name: str, rev: str | None, max_bytes: int
    ) -> tuple[str, bytes]:
        """An attachment's content type and bytes."""

    def replicate(self, db: str, docs: Rows) -> Rows:
        """`_bulk_docs` with new_edits false: revisions stored as they are; the rows that failed."""

    def delete_local(self, db: str, name: str, rev: str | None) -> None:
        """Delete a `_local/` document; a 409 problem if its rev is not the current one."""


def stale_rev(rev: str | None) -> Problem:
    """What a write that names no rev, or an old one, gets when the document has another."""
    if rev is None:
        return Problem(
            428,
            'precondition-required',
            'The document exists: send If-Match with its current rev to change it.',
        )
    return Problem(412, 'precondition-failed', 'If-Match is not the current rev of the document.')
