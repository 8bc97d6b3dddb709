"""The items of a bulk write and the ids of a lookup: checked one by one, before anything goes upstream."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections import Counter
from collections.abc import Callable

import falcon

from api.edge.id_prefix import creatable, id_prefix, new_id
from api.edge.request_input import REV_PATTERN, document_id
from api.errors import PROBLEMS_PATH, Problem, reason_phrase

MAX_ITEMS = 1000  # documents per bulk, ids per lookup: one upstream request each
_ITEM_FIELDS = frozenset({'_id', '_rev', '_deleted'})
_TWICE = 'The id appears more than once in this batch: one change per document.'


@dataclasses.dataclass
class Item:
    """One document of a bulk: what goes upstream, or why it does not (`refused`)."""

    doc: dict
    id: str | None  # None only for an item refused before it had one
    rev: str | None  # None: a create
    derived: bool = False  # the id came from the Idempotency-Key: an existing one is this key's own
    refused: dict | None = None

    @property
    def created(self) -> bool:
        return self.rev is None


def item_problem(status: int, problem_type: str, detail: str) -> dict:
    """A problem document inside a result: the shape of the API's own problems, minus the status."""
    return {'type': PROBLEMS_PATH + problem_type, 'title': reason_phrase(status), 'detail': detail}


def refusal(item_id: str | None, problem: Problem) -> dict:
    return {
        'id': item_id,
        'status': problem.status_code,
        'problem': item_problem(problem.status_code, problem.problem_type, problem.description or ''),
    }


def batch(req: falcon.Request, member: str) -> list:
    """The body's one array `member`, at most MAX_ITEMS long: a malformed body is the whole request's 400."""
    body = req.get_media()
    if not isinstance(body, dict) or set(body) != {member} or not isinstance(body[member], list):
        raise Problem(
            400, 'invalid-body', f'The body must be a JSON object with one member, "{member}": an array.'
        )
    if len(body[member]) > MAX_ITEMS:
        # Too much for one request, like a body over API_MAX_BODY_BYTES: 413, send it in parts.
        raise Problem(413, 'too-many-items', f'At most {MAX_ITEMS} items per request: send the rest apart.')
    return body[member]


def lookup_ids(req: falcon.Request) -> list[str]:
    """The ids of a lookup; every one a valid id (else the whole request's 400: nothing to answer per id)."""
    ids = batch(req, 'ids')
    for doc_id in ids:
        document_id(doc_id)
    return ids


def bulk_items(req: falcon.Request, derive: Callable[[int], str] | None) -> list[Item]:
    """Each document of the bulk checked; `derive(index)` names a create without `_id` (Idempotency-Key)."""
    items = [_item(req, index, doc, derive) for index, doc in enumerate(batch(req, 'docs'))]
    # Two changes to one id in one batch: which one wins would depend on order. Neither is sent.
    counts = Counter(item.id for item in items if item.id is not None and item.refused is None)
    for item in items:
        if item.refused is None and item.id is not None and counts[item.id] > 1:
            item.refused = refusal(
                item.id,
                Problem(400, 'duplicate-id', _TWICE),
            )
    return items


def _item(req: falcon.Request, index: int, doc: object, derive: Callable[[int], str] | None) -> Item:
    given = doc.get('_id') if isinstance(doc, dict) else None
    try:
        return _checked(req, index, doc, derive)
    except Problem as refused:
        return Item(
            {},
            given if isinstance(given, str) else None,
            None,
            refused=refusal(given if isinstance(given, str) else None, refused),
        )


def _checked(req: falcon.Request, index: int, doc: object, derive: Callable[[int], str] | None) -> Item:
    if not isinstance(doc, dict):
        raise Problem(400, 'invalid-body', 'Each document must be a JSON object.')
    reserved = sorted(k for k in doc if k.startswith('_') and k not in _ITEM_FIELDS)
    if reserved:
        raise Problem(400, 'reserved-field', f'Fields starting with "_" are reserved: {", ".join(reserved)}.')
    doc = dict(doc)
    deleted = doc.pop('_deleted', False)
    if not isinstance(deleted, bool):
        raise Problem(400, 'invalid-body', '"_deleted" must be true or false.')
    if '_rev' in doc and doc['_rev'] is None:
        del doc['_rev']  # "_rev": null, as some clients write a create
    rev = doc.get('_rev')
    if rev is not None and (not isinstance(rev, str) or not re.fullmatch(REV_PATTERN, rev)):
        raise Problem(400, 'invalid-rev', '"_rev" must be a rev, as "<number>-<hash>".')
    if '_id' not in doc:
        if rev is not None or deleted:
            raise Problem(400, 'invalid-document-id', 'An update or a delete names its document: send "_id".')
        # Every create is named here, never by the database: its result is then matched by id,
        # whatever order the database answers in (CouchDB's own ids are 32 hex digits, as these).
        chosen = derive(index) if derive is not None else new_id(req) or uuid.uuid4().hex
        doc['_id'] = chosen
        return Item(doc, chosen, None, derived=derive is not None)
    doc_id = document_id(doc['_id'])  # also refuses `_design/` and other "_" ids
    if deleted and rev is None:
        raise Problem(400, 'invalid-rev', 'A delete names the rev it deletes: send "_rev".')
    if id_prefix(req) is not None:
        creatable(req, doc_id)  # outside the key's prefix: 403 in this item, whatever it does
    if deleted:
        doc = {'_id': doc_id, '_rev': rev, '_deleted': True}  # a tombstone keeps no fields
    return Item(doc, doc_id, rev)
