"""The changes feed of the Couch port: pages filled, design documents left out, a prefix filtered upstream.

A prefix's changes are filtered by the database (a `_selector` on `_id`), so a page's limit counts
that prefix's own changes and a client's catch-up never reads other users' changes here. Documents
(include_docs) stay the stored JSON, unparsed, as reads serve them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
from ibm_cloud_sdk_core import DetailedResponse

from api.errors import Problem
from api.upstream import deadline
from api.upstream.cloudant_reads import COUCHDB, HIGHEST, HIGHEST_UTF16, CloudantReads
from api.upstream.couch import Change, Changes, Replication
from api.upstream.id_range import selector_within
from api.upstream.json_scan import members, text
from api.upstream.rows import DESIGN

# A long poll's answer may come this long after its wait: pouchdb-server ignores `timeout` and keeps
# an idle long poll open, so the wait ends here, as an empty page, when the database says nothing.
WAIT_SLACK = 2.0
INVALID_SINCE = 'since (or Last-Event-ID) is not a seq this database can resume from.'
_JSON = {'content-type': 'application/json', 'Accept': 'application/json'}


class ChangesReads(CloudantReads):
    """changes() of the Couch port (CloudantCouch inherits it)."""

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
        query = _Query(include_docs, id_prefix, replication or Replication())
        if query.asked.doc_ids == []:
            return Changes([], since, False)  # no id asked for: nothing to read
        if wait:
            deadline.start(wait + WAIT_SLACK, restart=True)
        else:
            deadline.start(self._deadline_seconds)
        results: list[Change] = []
        size = 0
        # Unfiltered, design documents come in the feed and spend its limit: as many more rows as the
        # database is known to hold keep a page that meets them to one request.
        extra = self._designs.expected(db, None, None, descending=False) if id_prefix is None else 0
        while True:
            room = limit - len(results)
            ask = room + (extra if query.asked.doc_ids is None else 0)
            try:
                seen, last_seq, stopped = self._page(
                    db, since, ask, query, wait, results, size, max_bytes, room
                )
            except Problem as problem:
                left = deadline.remaining()
                if wait and problem.status_code == 504 and left is not None and left <= 0:
                    return Changes(results, since, False)  # the wait is over: nothing new
                if problem.status_code == 400:  # CouchDB's "Malformed sequence supplied in 'since'"
                    raise Problem(400, 'invalid-since', INVALID_SINCE) from None
                raise
            size = sum(len(c.doc or b'') for c in results)
            if stopped or len(results) == limit:
                return Changes(results, results[-1].seq if results else last_seq, True)
            if seen < ask or query.asked.descending:
                return Changes(results, last_seq, False)  # the feed's end (or its start: one page)
            since, wait = last_seq, 0.0  # only design documents were skipped: the page goes on

    def _page(
        self,
        db: str,
        since: str,
        ask: int,
        query: _Query,
        wait: float,
        results: list[Change],
        size: int,
        max_bytes: int | None,
        room: int,
    ) -> tuple[int, str, bool]:
        """Read one upstream page into `results`, at most `room` changes of it: (changes seen, the
        page's last seq, stopped early)."""
        seen, last_seq, stopped, designs = 0, since, False, 0
        room += len(results)
        include_docs, id_prefix = query.include_docs, query.id_prefix
        with self._items(lambda: self._request(db, since, ask, query, wait), 'results') as (
            items,
            scanner,
        ):
            for raw in items:
                change = None if include_docs else _small(raw, query.asked.all_leaves)
                if change is None:
                    found = members(raw)
                    seq, raw_id = _seq(found['seq']), found['id']
                    if raw_id.startswith(DESIGN):
                        seen, last_seq, designs = seen + 1, seq, designs + 1
                        continue
                    doc = found.get('doc') if include_docs else None
                    if max_bytes is not None and results and doc is not None and size + len(doc) > max_bytes:
                        stopped = True
                        break
                    revs = orjson.loads(found['changes'])
                    leaves = tuple(r['rev'] for r in revs) if query.asked.all_leaves else ()
                    deleted = found.get('deleted') == b'true'
                    change = Change(seq, text(raw_id), revs[0]['rev'], deleted, doc, leaves)
                if len(results) == room:
                    continue  # rows asked for in case of design documents: read on, to reuse the connection
                seen, last_seq = seen + 1, change.seq
                if change.id.startswith('_design/'):
                    designs += 1
                    continue
                if id_prefix is not None and not change.id.startswith(id_prefix):
                    continue  # a second guard, after the filtered request
                results.append(change)
                size += len(change.doc or b'')
            rest: dict[str, Any] = scanner.rest(complete=not stopped)
        if designs:
            self._designs.met(db, designs, whole=False)
        if not stopped and seen < ask and 'last_seq' in rest:
            last_seq = str(rest['last_seq'])
        return seen, last_seq, stopped

    def _request(self, db: str, since: str, ask: int, query: _Query, wait: float) -> DetailedResponse:
        params: dict[str, Any] = {'since': since, 'limit': str(ask)}
        if query.include_docs:
            params['include_docs'] = 'true'
        if query.asked.all_leaves:
            params['style'] = 'all_docs'
        if query.asked.conflicts and query.include_docs:
            params['conflicts'] = 'true'
        if query.asked.descending:
            params['descending'] = 'true'
        headers = _JSON
        if wait:
            params.update(feed='longpoll', timeout=str(int(wait * 1000)))
            # Uncompressed: pouchdb-server's gzip holds back even the status line of an idle long
            # poll, which only a read timeout (not the wait's deadline) would end.
            headers = {**_JSON, 'Accept-Encoding': 'identity'}
        body = None
        selector: dict[str, Any] | None = None
        if query.asked.doc_ids is not None:
            selector = {'_id': {'$in': query.asked.doc_ids}}  # ids the caller has already confined
        elif query.id_prefix is not None:
            # A selector compares as Mango does: as JavaScript does on any pouchdb, on disk too.
            pouchdb = self._server() != COUCHDB
            selector = selector_within(
                {}, query.id_prefix, highest=HIGHEST_UTF16 if pouchdb else HIGHEST, utf16=pouchdb
            )
        if selector is not None:
            server = self._server()
            params['filter'] = '_selector'
            if server == COUCHDB:
                body = orjson.dumps({'selector': selector})
            else:
                # pouchdb-server reads a selector from the query string only (POST: 404 "missing").
                params['selector'] = json.dumps(selector)
        path = '/{}/_changes'.format(*self._client.encode_path_vars(db))
        prepared = self._client.prepare_request(
            method='GET' if body is None else 'POST', url=path, headers=headers, params=params, data=body
        )
        return self._client.send(prepared, stream=True)


@dataclasses.dataclass(frozen=True)
class _Query:
    """What a changes read asks for, beyond where and how many."""

    include_docs: bool
    id_prefix: str | None
    asked: Replication


def _small(raw: bytes, all_leaves: bool) -> Change | None:
    """A change without its document, parsed whole (a scan per row cost 20x as much); None for one
    orjson refuses (an id with a lone surrogate), which the scan reads."""
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    seq = row['seq']
    revs = [r['rev'] for r in row['changes']]
    return Change(
        seq if isinstance(seq, str) else str(seq) if isinstance(seq, int) else json.dumps(seq),
        row['id'],
        revs[0],
        row.get('deleted') is True,
        None,
        tuple(revs) if all_leaves else (),
    )


def _seq(raw: bytes) -> str:
    """A seq as text: CouchDB's are strings, pouchdb's numbers."""
    return text(raw) if raw[:1] == b'"' else raw.decode('ascii', 'replace')
