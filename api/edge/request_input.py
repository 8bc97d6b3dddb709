"""Request-input helpers shared by the resources: every refusal names what it refuses."""

from __future__ import annotations

import re

import falcon

from api.errors import Problem

MAX_ID_LENGTH = 1024  # characters; ids and keys end up in upstream URLs and bodies
_ALLOWED_UNDERSCORE_FIELDS = frozenset({'_id', '_rev'})
_CONTROL = re.compile('[\x00-\x1f\x7f]')
# What CouchDB revs look like ("3-a1b2..."); anything else in If-Match would only go upstream as noise.
_REV = re.compile('[0-9]{1,12}-[0-9A-Za-z]{1,64}')
REV_PATTERN = f'^{_REV.pattern}$'

# A changes feed's `since` (and Last-Event-ID): 0, now, or a seq as databases write them (pouchdb: a
# number; CouchDB and Cloudant: a number, '-', then base64url). The OpenAPI document says the same.
SINCE_PATTERN = r'0|now|[0-9]{1,20}(?:-[A-Za-z0-9_-]{1,4000})?'


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
    """A document id the API serves: 1-1024 characters, no control characters, not starting with '_'."""
    if not isinstance(doc_id, str) or not doc_id:
        raise Problem(400, 'invalid-document-id', 'A document id must be a non-empty string.')
    if doc_id.startswith('_'):
        raise Problem(400, 'invalid-document-id', 'Document ids starting with "_" are not served.')
    if len(doc_id) > MAX_ID_LENGTH:
        raise Problem(400, 'invalid-document-id', f'A document id has at most {MAX_ID_LENGTH} characters.')
    if _CONTROL.search(doc_id):
        raise Problem(400, 'invalid-document-id', 'A document id must not contain control characters.')
    if doc_id in ('.', '..'):
        # Percent-encoding leaves dots alone, and URL normalisation would turn /db/.. into /.
        raise Problem(400, 'invalid-document-id', 'A document id cannot be "." or "..".')
    return doc_id


def if_match_rev(req: falcon.Request) -> str | None:
    """The rev named by If-Match, if any."""
    tags = req.if_match
    if not tags:
        if req.get_header('If-Match') is not None:  # present, but no entity tag in it
            raise Problem(400, 'invalid-if-match', 'If-Match must carry exactly one rev, as "<rev>".')
        return None
    if len(tags) != 1 or tags[0] == '*' or tags[0].is_weak or not _REV.fullmatch(str(tags[0])):
        raise Problem(400, 'invalid-if-match', 'If-Match must carry exactly one rev, as "<rev>".')
    return str(tags[0])


def single_param(req: falcon.Request, name: str) -> str | None:
    """A query parameter given at most once, of at most MAX_ID_LENGTH characters."""
    values = req.get_param_as_list(name)
    if not values:
        return None
    if len(values) > 1:
        raise falcon.HTTPInvalidParam('It is given more than once.', name)
    if len(values[0]) > MAX_ID_LENGTH:
        raise falcon.HTTPInvalidParam(f'It has more than {MAX_ID_LENGTH} characters.', name)
    return values[0]


def int_param(req: falcon.Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = single_param(req, name)
    if raw is None:
        return default
    if not re.fullmatch(r'-?[0-9]{1,10}', raw) or not minimum <= int(raw) <= maximum:
        raise falcon.HTTPInvalidParam(f'It must be a whole number from {minimum} to {maximum}.', name)
    return int(raw)


def bool_param(req: falcon.Request, name: str) -> bool:
    raw = single_param(req, name)
    if raw not in (None, 'true', 'false'):
        raise falcon.HTTPInvalidParam('It must be true or false.', name)
    return raw == 'true'
