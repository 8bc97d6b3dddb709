"""A key's `id_prefix`: the documents it may see and write, decided before any upstream call."""

from __future__ import annotations

import uuid

from api.errors import Problem


def id_prefix(req) -> str | None:
    """The prefix every id this request sees must start with; None for a key without one."""
    key = req.context.key
    return None if key is None else key.id_prefix


def visible(req, doc_id: str) -> str:
    """`doc_id` if the key may see it; else the very 404 of a missing document, so nothing leaks."""
    prefix = id_prefix(req)
    if prefix is not None and not doc_id.startswith(prefix):
        raise Problem(404, 'not-found', 'No document with this id.')
    return doc_id


def creatable(req, doc_id: str) -> str:
    """`doc_id` if the key may create it; a 403 otherwise (the client chose the id: no secret told)."""
    prefix = id_prefix(req)
    if prefix is not None and not doc_id.startswith(prefix):
        raise Problem(
            403,
            'outside-scope',
            f'The API key "{req.context.key_name}" may only create documents whose id starts with '
            'its prefix.',
        )
    return doc_id


def new_id(req) -> str | None:
    """The id couchgate chooses for a new document of a prefix key (None: the database chooses)."""
    prefix = id_prefix(req)
    return None if prefix is None else prefix + uuid.uuid4().hex
