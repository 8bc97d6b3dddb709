"""Bodies and answers of the replication endpoint: JSON in, CouchDB's JSON out."""

from __future__ import annotations

from typing import Any

import falcon

from api.errors import Problem
from api.sync.namespace import Namespace
from api.upstream.json_values import dumps


def namespace(req) -> Namespace:
    """The ids the request's principal sees."""
    return Namespace.of(req.context.key)


def body(req) -> dict:
    """The request's body, a JSON object; a 400 otherwise (every body of CouchDB's API is one)."""
    value = req.get_media(default_when_empty=None)
    if not isinstance(value, dict):
        raise Problem(400, 'invalid-body', 'The body must be a JSON object.')
    return value


# The members starting with '_' CouchDB takes in a written document; any other is its 400.
SPECIAL = frozenset(
    {
        '_id',
        '_rev',
        '_deleted',
        '_attachments',
        '_revisions',
        '_conflicts',
        '_deleted_conflicts',
        '_revs_info',
    }
)


def documents(docs: list[dict]) -> list[dict]:
    """Documents to write, each with CouchDB's special members only; a 400 naming the first other."""
    for doc in docs:
        for name in doc:
            if name.startswith('_') and name not in SPECIAL:
                raise Problem(400, 'reserved-field', f'Bad special document member: {name[:64]!r}.')
    return docs


def answer(resp, value: Any, status: int = 200) -> None:
    """A JSON answer, written as CouchDB writes it."""
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = dumps(value)


def seq(text: str) -> int | str:
    """A seq as the database wrote it: pouchdb's are numbers, CouchDB's strings."""
    return int(text) if text.isdigit() and len(text) < 16 else text


def flag(req, name: str) -> bool:
    """A CouchDB boolean parameter (true/false); absent is false."""
    raw = req.get_param(name)
    if raw not in (None, 'true', 'false'):
        raise Problem(400, 'invalid-parameter', f'{name} must be true or false.')
    return raw == 'true'


def forbidden(doc_id: object) -> dict:
    """The `_bulk_docs` row of a document that is not the principal's to write."""
    return {
        'id': doc_id if isinstance(doc_id, str) else '',
        'error': 'forbidden',
        'reason': 'This id is outside what this key or user may write.',
    }
