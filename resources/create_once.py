"""A create that is safe to send twice: under an Idempotency-Key, couchgate resends one cut off."""

from __future__ import annotations

import json

import orjson

from api.errors import Problem
from api.upstream.couch import Couch, Json


def create_once(couch: Couch, db: str, doc: Json, *, derived: bool) -> str:
    """Create `doc` (its `_id` set); a send cut off is sent once more, the repeat harmless now.

    The rev of the document this request created; the conflict if another one holds the id. A
    derived id holds only this key's document: there, an existing one at its first rev is ours.
    """
    try:
        return couch.create(db, doc)[1]
    except Problem as failed:
        if failed.status_code not in (409, 502, 503, 504):
            raise
        resent, conflict = failed.status_code != 409, failed
    if resent:
        try:
            return couch.create(db, doc)[1]
        except Problem as again:
            if again.status_code != 409:
                raise
            conflict = again
    if derived or resent:
        rev = created_before(couch, db, doc, derived=derived)
        if rev is not None:
            return rev  # the first send was applied: this request's own document
    raise conflict


def created_before(couch: Couch, db: str, doc: Json, *, derived: bool) -> str | None:
    """The rev of `doc` if an earlier send created it: at its first rev, with this body (or any body
    under an id derived from the Idempotency-Key, which holds only this key's document)."""
    try:
        stored = couch.get(db, doc['_id'])
    except Problem as missing:
        if missing.status_code == 404 and 'database' not in str(missing.description):
            return None  # no such document (no such database keeps its 404)
        raise
    return stored.rev if stored.rev.startswith('1-') and (derived or same_document(stored.raw, doc)) else None


def same_document(stored: object, doc: Json) -> bool:
    """Whether a stored document (raw JSON, an orjson.Fragment of it, or parsed) is `doc` plus a rev."""
    raw = orjson.dumps(stored) if isinstance(stored, orjson.Fragment) else stored
    try:
        parsed = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and {k: v for k, v in parsed.items() if k != '_rev'} == doc
