"""Bulk writes: many creates, updates and deletes in one upstream request, a result per item."""

from __future__ import annotations

from typing import ClassVar

from injector import inject

from api.edge.batch_input import Item, bulk_items
from api.edge.idempotency_key import derived_id
from api.errors import Problem
from api.upstream.couch import BulkWritten, Couch, Json, Revision
from resources import bulk_outcomes as outcome
from resources.create_once import same_document
from resources.idempotency import Idempotency


class Bulk:
    """`{"docs": [...]}` → `{"results": [...]}`, in order: each item's rev and status, or its problem."""

    scopes: ClassVar[dict[str, str]] = {'POST': 'write'}  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch, idempotency: Idempotency) -> None:
        self._couch = couch
        self._idempotency = idempotency

    def on_post(self, req, resp, db):
        self._idempotency.once(
            req,
            resp,
            db,
            lambda scope: self._write(req, resp, db, scope),
            lambda scope: self._recall(req, resp, db, scope),
        )

    def _write(self, req, resp, db, scope: str | None) -> None:
        items = bulk_items(req, None if scope is None else lambda index: derived_id(req, scope, index))
        sent = [item for item in items if item.refused is None]
        # Refused items never reach the upstream; a batch of refusals sends nothing at all.
        outcomes = self._outcomes(db, sent, *self._send(db, sent, scope)) if sent else {}
        resp.media = {'results': [item.refused or outcomes[id(item)] for item in items]}

    def _recall(self, req, resp, db, scope: str) -> bool:
        """The first answer to this keyed bulk, told by the database (its record was not kept).

        The items are the first request's (same body, same key: same ids); each outcome is read from
        the current revs, and bodies where a write of the same generation may be another's.
        """
        items = bulk_items(req, lambda index: derived_id(req, scope, index))
        sent = [item for item in items if item.refused is None]
        current = self._couch.revisions(db, [i.id or '' for i in sent]) if sent else {}
        bodies = [i.id or '' for i in sent if outcome.needs_body(i, current.get(i.id or ''))]
        stored = {e['id']: e.get('doc') for e in self._couch.lookup(db, bodies)} if bodies else {}
        outcomes = [outcome.recalled(i, current.get(i.id or ''), stored.get(i.id)) for i in sent]
        if None in outcomes:
            return False
        told = iter(outcomes)
        resp.media = {'results': [item.refused or next(told) for item in items]}
        return True

    def _send(self, db: str, sent: list[Item], scope: str | None) -> tuple[BulkWritten, bool]:
        """The upstream's answer, and whether it is that of a second send."""
        try:
            return self._couch.bulk(db, [i.doc for i in sent]), False
        except Problem as failed:
            # Cut off after sending: under a key, a batch of creates with fixed ids (given or derived)
            # is sent again, the repeat harmless: where the first send wrote, it conflicts. A batch
            # with updates is not (an applied update would then look stale): the client may repeat it.
            creates = scope is not None and all(i.created and i.id for i in sent)
            if not creates or failed.status_code not in (502, 503, 504):
                raise
        return self._couch.bulk(db, [i.doc for i in sent]), True

    def _outcomes(self, db: str, sent: list[Item], written: BulkWritten, resent: bool) -> dict[int, Json]:
        outcomes: dict[int, Json] = {}
        failed: list[tuple[Item, Json]] = []
        for item, result in zip(sent, written.results, strict=True):
            if 'error' in result:
                failed.append((item, result))
                continue
            outcomes[id(item)] = outcome.done(result['id'], result['rev'], item.created, written.quorum)
        # CouchDB says `conflict` whether the document changed, was deleted or never existed (and
        # pouchdb-server the same for an update of a missing id): one batched read tells them apart.
        unclear = [item.id for item, result in failed if result.get('error') in ('conflict', 'not_found')]
        current = self._couch.revisions(db, [i for i in unclear if i is not None]) if unclear else {}
        ours = self._written_before(db, [item for item, _ in failed], current) if resent else set()
        for item, result in failed:
            outcomes[id(item)] = outcome.failed(
                item, result, current.get(item.id or ''), written.quorum, ours
            )
        return outcomes

    def _written_before(self, db: str, failed: list[Item], current: dict[str, Revision]) -> set[str]:
        """The given ids of creates that the cut-off first send wrote: at their first rev, as sent."""
        sent = {
            i.id: i.doc
            for i in failed
            if i.id is not None and not i.derived and outcome.first(current.get(i.id))  # derived: ours anyway
        }
        found = self._couch.lookup(db, list(sent)) if sent else []
        return {
            entry['id']
            for entry in found
            if 'doc' in entry and same_document(entry['doc'], sent[entry['id']])
        }
