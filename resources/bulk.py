"""Bulk writes: many creates, updates and deletes in one upstream request, a result per item."""

from __future__ import annotations

from typing import ClassVar

from injector import inject

from api.edge.batch_input import Item, bulk_items, refusal
from api.edge.idempotency_key import derived_id
from api.errors import Problem
from api.upstream.couch import BulkWritten, Couch, Json, Revision
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
        self._idempotency.once(req, resp, db, lambda scope: self._write(req, resp, db, scope))

    def _write(self, req, resp, db, scope: str | None) -> None:
        items = bulk_items(req, None if scope is None else lambda index: derived_id(req, scope, index))
        sent = [item for item in items if item.refused is None]
        # Refused items never reach the upstream; a batch of refusals sends nothing at all.
        outcomes = self._outcomes(db, sent, *self._send(db, sent, scope)) if sent else {}
        resp.media = {'results': [item.refused or outcomes[id(item)] for item in items]}

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
            outcomes[id(item)] = _done(result['id'], result['rev'], item.created, written.quorum)
        # CouchDB says `conflict` whether the document changed, was deleted or never existed (and
        # pouchdb-server the same for an update of a missing id): one batched read tells them apart.
        unclear = [item.id for item, result in failed if result.get('error') in ('conflict', 'not_found')]
        current = self._couch.revisions(db, [i for i in unclear if i is not None]) if unclear else {}
        ours = self._written_before(db, [item for item, _ in failed], current) if resent else set()
        for item, result in failed:
            outcomes[id(item)] = _failed(item, result, current.get(item.id or ''), written.quorum, ours)
        return outcomes

    def _written_before(self, db: str, failed: list[Item], current: dict[str, Revision]) -> set[str]:
        """The given ids of creates that the cut-off first send wrote: at their first rev, as sent."""
        sent = {
            i.id: i.doc
            for i in failed
            if i.id is not None and not i.derived and _first(current.get(i.id))  # derived: ours anyway
        }
        found = self._couch.lookup(db, list(sent)) if sent else []
        return {
            entry['id']
            for entry in found
            if 'doc' in entry and same_document(entry['doc'], sent[entry['id']])
        }


def _done(doc_id: str, rev: str, created: bool, quorum: bool) -> Json:
    outcome: Json = {'id': doc_id, 'rev': rev, 'status': 201 if created else 200}
    if not quorum:
        outcome['quorum'] = False  # 202: written, but on fewer nodes than the write quorum asks for
    return outcome


def _first(current: Revision | None) -> bool:
    return current is not None and not current.deleted and current.rev.startswith('1-')


def _failed(item: Item, result: Json, current: Revision | None, quorum: bool, ours: set[str]) -> Json:
    error, doc_id = result.get('error'), item.id or result.get('id')
    if error == 'forbidden':
        return refusal(doc_id, Problem(403, 'forbidden', 'The database refused this document (validation).'))
    if error not in ('conflict', 'not_found'):
        return refusal(doc_id, Problem(400, 'bad-request', 'The database refused this document as invalid.'))
    if item.created:
        if current is not None and _first(current) and (item.derived or item.id in ours):
            # An id derived from this Idempotency-Key, or a document as this request sent it: an
            # earlier send (cut off, or the key's earlier attempt) created it, not someone else.
            return _done(item.id or '', current.rev, True, quorum)
        return refusal(doc_id, Problem(409, 'conflict', 'A document with this id exists already.'))
    if current is None:
        return refusal(doc_id, Problem(404, 'not-found', 'No document with this id.'))
    if current.deleted:
        detail = f'The document was deleted (rev {current.rev}): to write it again, send it without "_rev".'
        return refusal(doc_id, Problem(409, 'deleted', detail))
    return refusal(
        doc_id, Problem(412, 'precondition-failed', '"_rev" is not the current rev: read it again.')
    )
