"""The replication endpoint, part one: the server, the database, checkpoints and the changes feed.

`/sync/{db}` is a CouchDB database URL for PouchDB and other replicators, seen through the
principal's namespace (api/sync/namespace.py): a user's ids without their prefix, their own
`_local` checkpoints. Answers and errors are CouchDB's shapes, in the API's own words.
"""

from __future__ import annotations

import re
import uuid
from typing import ClassVar

from injector import inject

from api.changes.hub import Hub
from api.config import Settings
from api.edge.request_input import SINCE_PATTERN, bool_param
from api.errors import Problem
from api.sync.namespace import Namespace
from api.sync.wire import answer, body, documents, json_param, namespace, seq, whole_number
from api.upstream.couch import Change, Changes, Couch, Replication
from api.upstream.json_values import dumps, loads

_SINCE = re.compile(SINCE_PATTERN)
VERSION = '3.3.3'  # the CouchDB API version these routes follow
MAX_WAIT = 25  # seconds a long poll waits: within Heroku's 30 s to the first byte
MAX_LIMIT = 1000  # changes per answer
MAX_DOC_IDS = 1000


class ReplicationRoute:
    """What every /sync route shares: the port, the bound on what an answer may hold, and no
    stranger served (replication copies a principal's whole part of a database, reads too)."""

    anonymous = False

    @inject
    def __init__(self, couch: Couch, settings: Settings) -> None:
        self._couch = couch
        self._max_bytes = settings.max_page_bytes


class SyncRoot:
    """`GET /sync/`: the server a replicator talks to; its uuid names this deployment's data."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read'}
    anonymous = False

    @inject
    def __init__(self, settings: Settings) -> None:
        # Stable per deployment (the database server it fronts), and says nothing of its address.
        self._uuid = uuid.uuid5(uuid.NAMESPACE_URL, 'couchgate:' + settings.url).hex

    def on_get(self, req, resp):
        answer(
            resp,
            {'couchdb': 'Welcome', 'uuid': self._uuid, 'version': VERSION, 'vendor': {'name': 'couchgate'}},
        )


class SyncDatabase(ReplicationRoute):
    """`GET|HEAD /sync/{db}`: what a replicator checks first; a user never sees the shared counts.
    `POST /sync/{db}`: a new document (its id from the body, or a new one), as CouchDB's POST does."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read', 'POST': 'write', 'PUT': 'read'}

    def on_get(self, req, resp, db):
        # Asked each time (PouchDB asks after every batch): a client may compare update_seq with its
        # checkpoint, so a description even a second old would say a write had not happened.
        info = self._couch.database_info(db)
        found = {
            'db_name': db,
            'update_seq': info.get('update_seq'),
            'instance_start_time': str(info.get('instance_start_time') or '0'),
        }
        if not namespace(req).prefix:
            found.update({k: info[k] for k in ('doc_count', 'doc_del_count') if k in info})
        answer(resp, found)

    def on_put(self, req, resp, db):
        # PouchDB creates a database it finds missing; couchgate never does. For one the principal
        # may use, CouchDB's answer to an existing database, which PouchDB takes as done.
        raise Problem(412, 'precondition-failed', 'The database exists: couchgate does not create databases.')

    def on_post(self, req, resp, db):
        [doc] = documents([body(req)])
        doc_id = doc.get('_id', uuid.uuid4().hex)
        inner = namespace(req).inward(doc_id)
        if inner is None or '_rev' in doc:
            raise Problem(403, 'forbidden', 'This id is outside what this key or user may write.')
        _, rev = self._couch.create(db, dict(doc, _id=inner))
        answer(resp, {'ok': True, 'id': doc_id, 'rev': rev}, 201)


class SyncLocal(ReplicationRoute):
    """`GET|PUT|DELETE /sync/{db}/_local/{name}`: a replicator's checkpoint, the principal's own."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read', 'PUT': 'write', 'DELETE': 'write'}
    cache_control = 'no-store'

    def on_get(self, req, resp, db, name):
        found = self._couch.get_local(db, namespace(req).local(name))
        if found is None:
            raise Problem(404, 'not-found', 'No checkpoint with this id.')
        record, rev = found
        answer(resp, dict(record, _id='_local/' + name, _rev=rev))

    def on_put(self, req, resp, db, name):
        [record] = documents([body(req)])
        rev = record.get('_rev') or req.get_param('rev')
        fields = {k: v for k, v in record.items() if k not in ('_id', '_rev')}
        new_rev = self._couch.put_local(
            db, namespace(req).local(name), fields, rev if isinstance(rev, str) else None
        )
        answer(resp, {'ok': True, 'id': '_local/' + name, 'rev': new_rev}, 201)

    def on_delete(self, req, resp, db, name):
        self._couch.delete_local(db, namespace(req).local(name), req.get_param('rev'))
        answer(resp, {'ok': True, 'id': '_local/' + name, 'rev': '0-0'})


class SyncChanges(ReplicationRoute):
    """`GET|POST /sync/{db}/_changes`: the principal's changes, every leaf revision with style=all_docs.

    Pages are filled upstream (the prefix is the database's filter, not a trim after asking), so a
    short page means the end, as replicators read it. A long poll with nothing new waits on the
    worker's one feed of the database, holding neither a thread nor an upstream request.
    """

    scopes: ClassVar[dict[str, str]] = {'GET': 'read', 'POST': 'read'}
    cache_control = 'no-store'

    @inject
    def __init__(self, couch: Couch, hub: Hub, settings: Settings) -> None:
        super().__init__(couch, settings)
        self._hub = hub

    def on_get(self, req, resp, db):
        self._changes(req, resp, db, json_param(req, 'doc_ids', 'a JSON list of ids'))

    def on_post(self, req, resp, db):
        sent = body(req)
        ids = sent.get('doc_ids') if req.get_param('filter') == '_doc_ids' else None
        self._changes(
            req, resp, db, ids if ids is not None else json_param(req, 'doc_ids', 'a JSON list of ids')
        )

    def _changes(self, req, resp, db, doc_ids):
        space = namespace(req)
        feed = req.get_param('feed') or 'normal'
        if feed not in ('normal', 'longpoll'):
            raise Problem(400, 'invalid-parameter', 'feed must be normal or longpoll.')
        filtered = req.get_param('filter')
        if filtered not in (None, '_doc_ids'):
            raise Problem(403, 'forbidden', 'Only the _doc_ids filter is served through /sync.')
        if filtered == '_doc_ids' and doc_ids is None:
            raise Problem(400, 'invalid-parameter', 'filter=_doc_ids needs doc_ids.')
        inner_ids = None
        if doc_ids is not None:
            if not isinstance(doc_ids, list) or len(doc_ids) > MAX_DOC_IDS:
                raise Problem(
                    400, 'invalid-parameter', f'doc_ids must be a list of at most {MAX_DOC_IDS} ids.'
                )
            inner_ids = [i for i in (space.inward(d) for d in doc_ids) if i is not None]
        since = req.get_param('since') or '0'
        if not _SINCE.fullmatch(since):
            raise Problem(400, 'invalid-since', 'since must be 0, now, or a seq of this database.')
        limit = whole_number(req, 'limit', default=MAX_LIMIT, minimum=1, maximum=MAX_LIMIT)
        include_docs = bool_param(req, 'include_docs')
        descending = bool_param(req, 'descending')
        all_leaves = (req.get_param('style') or 'main_only') == 'all_docs'
        asked = Replication(all_leaves, inner_ids, bool_param(req, 'conflicts'), descending)
        prefix = space.prefix or None
        resp.content_type = 'application/json'

        def read(after: str) -> Changes:
            return self._couch.changes(
                db,
                since=after,
                limit=limit,
                include_docs=include_docs,
                id_prefix=prefix,
                max_bytes=self._max_bytes,
                replication=asked,
            )

        def page(changes: list[Change], last_seq: str) -> bytes:
            rows = [_row(space, c, include_docs) for c in changes]
            return b'{"results":[%s],"last_seq":%s}' % (b','.join(rows), dumps(seq(last_seq)))

        if since == 'now':
            since = self._now(db)
        waited = whole_number(req, 'timeout', default=MAX_WAIT * 1000, minimum=0, maximum=10**9)
        wait = min(waited / 1000, MAX_WAIT)
        if feed != 'longpoll' or descending or not wait:
            found = read(since)
            resp.data = page(found.results, found.last_seq)
            return
        # Registered with the feed before the read: a change in between rings at once.
        subscription = self._hub.open(
            db, prefix, False, since, poll_limit=limit, wait=wait, poll_page=page, doorbell=True
        )
        if subscription.current:
            # The client stands where the feed does: nothing to read, the wait starts now.
            subscription.caught_up(since)
            resp.stream = subscription
            return
        try:
            found = read(since)
        except BaseException:
            subscription.close()
            raise
        if found.results:
            subscription.close()
            resp.data = page(found.results, found.last_seq)
            return
        subscription.caught_up(found.last_seq)
        resp.stream = subscription

    def _now(self, db: str) -> str:
        return self._couch.changes(db, since='now', limit=1).last_seq


def _row(space: Namespace, change: Change, include_docs: bool) -> bytes:
    fields: dict = {
        'seq': seq(change.seq),
        'id': space.outward(change.id) or change.id,
        'changes': [{'rev': r} for r in (change.leaves or (change.rev,))],
    }
    if change.deleted:
        fields['deleted'] = True
    if include_docs and change.doc is not None:
        fields['doc'] = space.doc_out(loads(change.doc))
    return dumps(fields)
