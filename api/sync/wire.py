"""Bodies and answers of the replication endpoint: JSON in, CouchDB's JSON out."""

from __future__ import annotations

import re
from typing import Any

import falcon

from api.edge.request_input import REV_PATTERN
from api.errors import Problem
from api.sync.namespace import Namespace
from api.upstream.json_values import dumps, loads


def namespace(req) -> Namespace:
    """The ids the request's principal sees."""
    return Namespace.of(req.context.key)


def body(req) -> dict:
    """The request's body, a JSON object; a 400 otherwise (every body of CouchDB's API is one)."""
    value = req.get_media(default_when_empty=None)
    if not isinstance(value, dict):
        raise Problem(400, 'invalid-body', 'The body must be a JSON object.')
    return value


# The members starting with '_' a written document may hold, each checked as CouchDB checks it
# (a malformed one is CouchDB's 400; pouchdb-server crashed on some); those CouchDB ignores on a
# write (`_conflicts`, ...) are dropped here.
_IGNORED = frozenset({'_conflicts', '_deleted_conflicts', '_revs_info', '_local_seq'})
_REV = re.compile(REV_PATTERN)


def _special_ok(name: str, value: Any) -> bool:
    if name == '_id':
        return True  # one that is not the principal's gets its row's `forbidden` (namespace.py)
    if name == '_rev':
        return isinstance(value, str) and _REV.match(value) is not None
    if name == '_deleted':
        return isinstance(value, bool)
    if name == '_revisions':
        return (
            isinstance(value, dict)
            and isinstance(value.get('start'), int)
            and not isinstance(value.get('start'), bool)
            and isinstance(value.get('ids'), list)
            and all(isinstance(i, str) for i in value['ids'])
        )
    if name == '_attachments':
        return isinstance(value, dict) and all(_attachment_ok(a) for a in value.values())
    return False


def _attachment_ok(attachment: Any) -> bool:
    if not isinstance(attachment, dict) or not isinstance(attachment.get('content_type', ''), str):
        return False
    return attachment.get('stub') is True or isinstance(attachment.get('data'), str)


def documents(docs: list[dict]) -> list[dict]:
    """Documents to write, their special members as CouchDB takes them; a 400 naming the first other."""
    written = []
    for doc in docs:
        for name, value in doc.items():
            if name.startswith('_') and name not in _IGNORED and not _special_ok(name, value):
                raise Problem(400, 'reserved-field', f'Bad special document member: {name[:64]!r}.')
        written.append({k: v for k, v in doc.items() if k not in _IGNORED})
    return written


def answer(resp, value: Any, status: int = 200) -> None:
    """A JSON answer, written as CouchDB writes it."""
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = dumps(value)


def seq(text: str) -> int | str:
    """A seq as the database wrote it: pouchdb's are numbers, CouchDB's strings."""
    return int(text) if text.isdigit() and len(text) < 16 else text


def json_param(req, name: str, what: str) -> Any:
    """A query parameter holding JSON (CouchDB's keys, doc_ids, open_revs); None when absent, a 400
    naming `what` it must be when it is not JSON."""
    raw = req.get_param(name)
    if raw is None:
        return None
    try:
        return loads(raw.encode())
    except ValueError:
        raise Problem(400, 'invalid-parameter', f'{name} must be {what}.') from None


def whole_number(req, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A whole-number parameter, clamped into [minimum, maximum] as CouchDB clamps a large limit."""
    raw = req.get_param(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 12:
        raise Problem(400, 'invalid-parameter', f'{name} must be a whole number.')
    return max(minimum, min(maximum, int(raw)))


def objects(sent: dict, member: str, shape: str) -> list[dict]:
    """The body's list of objects `member`, or a 400 saying the body's `shape`."""
    items = sent.get(member)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise Problem(400, 'invalid-body', f'The body must be {shape}.')
    return items


def forbidden(doc_id: object) -> dict:
    """The `_bulk_docs` row of a document that is not the principal's to write."""
    return {
        'id': doc_id if isinstance(doc_id, str) else '',
        'error': 'forbidden',
        'reason': 'This id is outside what this key or user may write.',
    }
