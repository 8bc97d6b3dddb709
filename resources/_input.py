"""Request-input helpers shared by the resources."""
from __future__ import annotations

import falcon

from api.errors import Problem

_ALLOWED_UNDERSCORE_FIELDS = frozenset({'_id', '_rev'})


def json_object(req: falcon.Request) -> dict:
    """The request body as a JSON object, or a 400 problem."""
    body = req.get_media()
    if not isinstance(body, dict):
        raise Problem(400, 'invalid-body', 'The body must be a JSON object.')
    reserved = sorted(k for k in body if k.startswith('_') and k not in _ALLOWED_UNDERSCORE_FIELDS)
    if reserved:
        raise Problem(400, 'reserved-field', f'Fields starting with "_" are reserved: {", ".join(reserved)}.')
    return body


def document_id(doc_id: object) -> str:
    """A document id the API serves: a non-empty string not starting with '_'."""
    if not isinstance(doc_id, str) or not doc_id:
        raise Problem(400, 'invalid-document-id', 'A document id must be a non-empty string.')
    if doc_id.startswith('_'):
        raise Problem(400, 'invalid-document-id', 'Document ids starting with "_" are not served.')
    return doc_id


def if_match_rev(req: falcon.Request) -> str | None:
    """The rev named by If-Match, if any."""
    tags = req.if_match
    if not tags:
        return None
    if len(tags) != 1 or tags[0] == '*':
        raise Problem(400, 'invalid-if-match', 'If-Match must carry exactly one rev, as "<rev>".')
    return str(tags[0])
