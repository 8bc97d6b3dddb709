"""The replication endpoint, part three: one document, its revisions and its attachments.

`/sync/{db}/{id}` reads (with CouchDB's rev, revs, open_revs, latest, conflicts, attachments),
writes and deletes one of the principal's documents; `/sync/{db}/{id}/{name}` reads an attachment.
Any other `_` path (`_design/`, `_find`, `_index`, `_security`, ...) is refused, never passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import unquote

from api.errors import Problem
from api.sync.namespace import Namespace
from api.sync.wire import answer, body, documents, json_param, namespace
from resources.sync import ReplicationRoute

# The read parameters passed on, each a CouchDB boolean or (rev, open_revs, atts_since) JSON or a rev.
_READ_PARAMS = (
    'rev',
    'revs',
    'open_revs',
    'latest',
    'conflicts',
    'attachments',
    'deleted_conflicts',
    'atts_since',
)
_REFUSED = (
    'Only documents and their attachments are served through /sync: design documents, queries and '
    'administration are not.'
)


class SyncDocument(ReplicationRoute):
    """`GET|PUT|DELETE /sync/{db}/{id}` and `GET /sync/{db}/{id}/{attachment}`."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read', 'PUT': 'write', 'DELETE': 'write', 'POST': 'read'}

    def on_get(self, req, resp, db, rest):
        space = namespace(req)
        doc_id, attachment = _split(req, db, rest)
        inner = space.required(doc_id)
        if attachment is not None:
            content_type, data = self._couch.attachment(
                db, inner, attachment, req.get_param('rev'), self._max_bytes
            )
            resp.content_type = content_type
            resp.data = data
            return
        params = {name: req.get_param(name) for name in _READ_PARAMS if req.get_param(name) is not None}
        _check_open_revs(req)
        found = self._couch.open_revs(db, inner, params, self._max_bytes)
        answer(resp, _out(space, found))

    def on_put(self, req, resp, db, rest):
        doc_id, attachment = _split(req, db, rest)
        if attachment is not None:
            raise Problem(403, 'forbidden', 'Attachments are written inline, in the document (base64).')
        space = namespace(req)
        [doc] = documents([body(req)])
        inner = _writable(space, doc_id)
        rev = doc.get('_rev') or req.get_param('rev')
        if req.get_param('new_edits') == 'false':
            self._couch.replicate(db, [dict(doc, _id=inner)])
            answer(resp, {'ok': True, 'id': doc_id, 'rev': rev}, 201)
            return
        fields = {k: v for k, v in doc.items() if k not in ('_id', '_rev')}
        new_rev = _written(lambda: self._couch.put(db, inner, fields, rev if isinstance(rev, str) else None))
        answer(resp, {'ok': True, 'id': doc_id, 'rev': new_rev}, 201)

    def on_delete(self, req, resp, db, rest):
        doc_id, attachment = _split(req, db, rest)
        if attachment is not None:
            raise Problem(403, 'forbidden', 'Attachments are written inline, in the document (base64).')
        inner = _writable(namespace(req), doc_id)
        rev = req.get_param('rev')
        if rev is None:
            raise Problem(409, 'conflict', 'Name the rev to delete: ?rev=<rev>.')
        new_rev = _written(lambda: self._couch.put(db, inner, {'_deleted': True}, rev))
        answer(resp, {'ok': True, 'id': doc_id, 'rev': new_rev})

    def on_post(self, req, resp, db, rest):
        raise Problem(403, 'forbidden', _REFUSED)


def _split(req, db: str, rest: str) -> tuple[str, str | None]:
    """The document id and attachment name of the path: from the raw path when the server gives it,
    so an id holding an encoded '/' (PouchDB sends `a%2Fb`) stays one id."""
    raw = req.env.get('RAW_URI') or req.env.get('REQUEST_URI')
    if raw:
        path = raw.split('?', 1)[0]
        head = '/sync/' + db + '/'
        if path.startswith(head):
            doc_id, _, name = path[len(head) :].partition('/')
            doc_id = unquote(doc_id)
            if doc_id in ('_design', '_local'):
                raise Problem(404, 'not-found', _REFUSED)
            return doc_id, unquote(name) if name else None
    doc_id, _, name = rest.partition('/')
    return doc_id, name or None


def _written(write: Callable[[], str]) -> str:
    """A write's new rev; CouchDB's 409 when the rev named is not the current one (or none was)."""
    try:
        return write()
    except Problem as refused:
        if refused.status_code in (412, 428):
            raise Problem(409, 'conflict', 'Document update conflict: name the current rev.') from None
        raise


def _check_open_revs(req) -> None:
    """open_revs is `all` or a JSON list of revs, as CouchDB takes it."""
    if req.get_param('open_revs') in (None, 'all'):
        return
    revs = json_param(req, 'open_revs', 'all, or a JSON list of revs')
    if not isinstance(revs, list) or not all(isinstance(r, str) for r in revs):
        raise Problem(400, 'invalid-parameter', 'open_revs must be all, or a JSON list of revs.')


def _writable(space: Namespace, doc_id: str) -> str:
    inner = space.inward(doc_id)
    if inner is None:
        raise Problem(403, 'forbidden', 'This id is outside what this key or user may write.')
    return inner


def _out(space: Namespace, found: Any) -> Any:
    """A read's answer with the client's ids: a document, or open_revs' list of {ok} and {missing}."""
    if isinstance(found, list):
        return [
            dict(item, ok=space.doc_out(item['ok'])) if isinstance(item, dict) and 'ok' in item else item
            for item in found
        ]
    return space.doc_out(found)
