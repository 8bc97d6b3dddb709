"""What a bulk tells each item: its rev and status, or its problem; from a write's result or, for a
repeat under an Idempotency-Key whose first answer was not kept, from the database's current revs."""

from __future__ import annotations

from api.edge.batch_input import Item, refusal
from api.errors import Problem
from api.upstream.couch import Json, Revision
from resources.create_once import same_document

# How `_bulk_docs` refuses a change whose rev is not the current one: the outcome then depends on
# what the document is now (api/upstream/cloudant_batches.py reads that).
CONFLICT: Json = {'error': 'conflict'}


def done(doc_id: str, rev: str, created: bool, quorum: bool) -> Json:
    outcome: Json = {'id': doc_id, 'rev': rev, 'status': 201 if created else 200}
    if not quorum:
        outcome['quorum'] = False  # 202: written, but on fewer nodes than the write quorum asks for
    return outcome


def first(current: Revision | None) -> bool:
    return current is not None and not current.deleted and current.rev.startswith('1-')


def failed(item: Item, result: Json, current: Revision | None, quorum: bool, ours: set[str]) -> Json:
    error, doc_id = result.get('error'), item.id or result.get('id')
    if error == 'forbidden':
        return refusal(doc_id, Problem(403, 'forbidden', 'The database refused this document (validation).'))
    if error not in ('conflict', 'not_found'):
        return refusal(doc_id, Problem(400, 'bad-request', 'The database refused this document as invalid.'))
    if item.created:
        if current is not None and first(current) and (item.derived or item.id in ours):
            # An id derived from this Idempotency-Key, or a document as this request sent it: an
            # earlier send (cut off, or the key's earlier attempt) created it, not someone else.
            return done(item.id or '', current.rev, True, quorum)
        return refusal(doc_id, Problem(409, 'conflict', 'A document with this id exists already.'))
    if current is None:
        return refusal(doc_id, Problem(404, 'not-found', 'No document with this id.'))
    if current.deleted:
        detail = f'The document was deleted (rev {current.rev}): to write it again, send it without "_rev".'
        return refusal(doc_id, Problem(409, 'deleted', detail))
    return refusal(
        doc_id, Problem(412, 'precondition-failed', '"_rev" is not the current rev: read it again.')
    )


def recalled(item: Item, current: Revision | None, stored: object) -> Json | None:
    """The outcome the first send of `item` had, told by the document now; None while it cannot be told.

    None: not written yet (the first request may still be running), or written over since (which
    write was the first's is no longer told). `stored`: the current body, where `needs_body` says so.
    """
    if current is None:
        return None if item.created else failed(item, CONFLICT, None, True, set())  # never existed
    if current.rev == item.rev:
        return None
    generation, base = _generation(current.rev), 0 if item.rev is None else _generation(item.rev)
    if generation == base + 1:
        if item.doc.get('_deleted'):
            ours = current.deleted  # a tombstone's rev is the same whoever deleted that rev
        else:
            ours = not current.deleted and (item.derived or same_document(stored, _sent(item)))
        return (
            done(item.id or '', current.rev, item.created, True)
            if ours
            else failed(item, CONFLICT, current, True, set())
        )
    # A rev of another branch: refused, then as now; one generations further: written over since.
    return failed(item, CONFLICT, current, True, set()) if generation <= base else None


def needs_body(item: Item, current: Revision | None) -> bool:
    """Whether telling this item's outcome needs the document's body: a write of ours or another's."""
    if current is None or current.deleted or item.derived or item.doc.get('_deleted'):
        return False
    return _generation(current.rev) == (0 if item.rev is None else _generation(item.rev)) + 1


def _sent(item: Item) -> Json:
    return {k: v for k, v in item.doc.items() if k != '_rev'}


def _generation(rev: str) -> int:
    number, _, _ = rev.partition('-')
    return int(number) if number.isdigit() else 0
