"""One document of an allowed database."""

from __future__ import annotations

import re
from typing import ClassVar

import falcon
from injector import inject

from api.edge.id_prefix import creatable, visible
from api.edge.request_input import REV_PATTERN, document_id, if_match_rev, json_object
from api.edge.wtf8 import path_id
from api.errors import Problem
from api.upstream.couch import Couch


class Document:
    """One document, addressed by id; changes are guarded by its rev (If-Match)."""

    cache_control = 'no-cache'  # revalidate with If-None-Match: the ETag is the rev
    scopes: ClassVar[dict[str, str]] = {
        'GET': 'read',
        'PUT': 'write',
        'DELETE': 'write',
    }  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch) -> None:
        self._couch = couch

    def on_get(self, req, resp, db, doc_id):
        doc = self._couch.get(db, visible(req, document_id(path_id(req, doc_id))))
        resp.etag = doc.rev
        if req.if_none_match and any(tag == '*' or str(tag) == doc.rev for tag in req.if_none_match):
            resp.status = falcon.HTTP_304
            return
        # The stored JSON as the database sent it: no parser's limits apply to what others stored.
        resp.content_type = falcon.MEDIA_JSON
        resp.data = doc.raw

    def on_put(self, req, resp, db, doc_id):
        document_id(doc_id)
        body = json_object(req)
        if body.pop('_id', doc_id) != doc_id:
            raise Problem(400, 'id-mismatch', '"_id" in the body must equal the id in the path.')
        if_match = if_match_rev(req)
        rev = _precondition(if_match, body.pop('_rev', None))
        # A prefix key: an update outside it is a missing document, a create is refused (no secret).
        visible(req, doc_id) if rev else creatable(req, doc_id)
        try:
            new_rev = self._couch.put(db, doc_id, body, rev)
        except Problem as refused:
            if refused.status_code != 412 or if_match is not None:
                raise
            raise Problem(
                412, 'precondition-failed', '"_rev" is not the current rev of the document.'
            ) from None
        resp.status = falcon.HTTP_200 if rev else falcon.HTTP_201
        resp.etag = new_rev
        resp.media = {'id': doc_id, 'rev': new_rev}

    def on_delete(self, req, resp, db, doc_id):
        doc_id = visible(
            req, document_id(path_id(req, doc_id))
        )  # also an id with a lone surrogate, stored by others
        rev = if_match_rev(req)
        if rev is None:
            raise Problem(428, 'precondition-required', 'Send If-Match with the current rev to delete.')
        self._couch.delete(db, doc_id, rev)
        resp.status = falcon.HTTP_204


def _precondition(if_match: str | None, body_rev: object) -> str | None:
    """The rev a PUT must replace: If-Match's, else `_rev` in the body (as CouchDB clients send it)."""
    if body_rev is None:
        return if_match
    if not isinstance(body_rev, str) or not re.fullmatch(REV_PATTERN, body_rev):
        raise Problem(400, 'invalid-rev', '"_rev" must be a rev, as "<number>-<hash>".')
    if if_match is not None and body_rev != if_match:
        raise Problem(400, 'rev-mismatch', '"_rev" in the body and If-Match name different revs.')
    return body_rev
