"""The replication endpoint, part two: what a replicator asks and writes in batches.

Ids the principal may not use never go upstream: `_revs_diff` calls them missing (so a push tries
them, and each gets its own `forbidden` row: PouchDB's `denied`), `_bulk_get` answers not_found
whether or not such a document exists, `_bulk_docs` refuses them one by one and writes the rest.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from api.edge.request_input import bool_param
from api.errors import Problem
from api.sync.namespace import Namespace
from api.sync.wire import answer, body, documents, forbidden, json_param, namespace, objects, whole_number
from api.upstream.json_values import dumps, loads
from resources.sync import ReplicationRoute

MAX_ROWS = 1000  # ids per _all_docs answer


class SyncRevsDiff(ReplicationRoute):
    """`POST /sync/{db}/_revs_diff`: of the revisions a replicator has, those this database lacks."""

    scopes: ClassVar[dict[str, str]] = {'POST': 'read'}

    def on_post(self, req, resp, db):
        asked = body(req)
        if not all(
            isinstance(revs, list) and all(isinstance(r, str) for r in revs) for revs in asked.values()
        ):
            raise Problem(400, 'invalid-body', 'The body must map each id to a list of revs.')
        space = namespace(req)
        outer = {inner: doc_id for doc_id in asked if (inner := space.inward(doc_id)) is not None}
        found = self._couch.revs_diff(db, {inner: asked[doc_id] for inner, doc_id in outer.items()})
        # Ids not the principal's: all missing, asked of nobody (a push then gets their `forbidden`).
        diff: dict[str, Any] = {
            doc_id: {'missing': revs} for doc_id, revs in asked.items() if doc_id not in outer.values()
        }
        for inner_id, missing in found.items():
            if inner_id in outer:
                diff[outer[inner_id]] = missing
        answer(resp, diff)


class SyncBulkGet(ReplicationRoute):
    """`POST /sync/{db}/_bulk_get`: the revisions a replicator asked for, with their histories."""

    scopes: ClassVar[dict[str, str]] = {'POST': 'read'}

    def on_post(self, req, resp, db):
        docs = objects(body(req), 'docs', '{"docs": [{"id", "rev"}, ...]}')
        space = namespace(req)
        params = {name: 'true' for name in ('revs', 'latest', 'attachments') if bool_param(req, name)}
        inner = [space.inward(d.get('id')) for d in docs]
        upstream = self._couch.bulk_get(
            db,
            [dict(d, id=i) for d, i in zip(docs, inner, strict=True) if i is not None],
            params=params,
            max_bytes=self._max_bytes,
        )
        fetched = iter(upstream)
        results = []
        for doc, inner_id in zip(docs, inner, strict=True):
            if inner_id is None:
                results.append(_missing(doc))
                continue
            result = next(fetched, None)
            results.append(_result_out(space, doc, result))
        answer(resp, {'results': results})


class SyncBulkDocs(ReplicationRoute):
    """`POST /sync/{db}/_bulk_docs`: a batch of writes; `new_edits: false` stores revisions as sent."""

    scopes: ClassVar[dict[str, str]] = {'POST': 'write'}

    def on_post(self, req, resp, db):
        sent = body(req)
        docs = documents(objects(sent, 'docs', '{"docs": [...]}'))
        space = namespace(req)
        new_edits = sent.get('new_edits', True) is not False
        if new_edits:
            # A new document without an id gets one here: in the principal's part, like every other.
            docs = [d if '_id' in d else dict(d, _id=uuid.uuid4().hex) for d in docs]
            ids = [d['_id'] for d in docs]
            if len(set(map(str, ids))) != len(ids):
                raise Problem(400, 'invalid-body', 'Each document of a batch of edits must have its own id.')
        inner = [space.doc_in(d) for d in docs]
        allowed = [d for d in inner if d is not None]
        if new_edits:
            written = self._couch.bulk(db, allowed).results if allowed else []
        else:
            written = self._couch.replicate(db, allowed)
        by_id: dict[str, list] = {}
        for row in written:
            if isinstance(row, dict) and isinstance(row.get('id'), str):
                by_id.setdefault(row['id'], []).append(row)
        rows = []
        for doc, inner_doc in zip(docs, inner, strict=True):
            if inner_doc is None:
                rows.append(forbidden(doc.get('_id')))
                continue
            rows.extend(_row_out(row, doc['_id']) for row in by_id.pop(inner_doc['_id'], []))
        answer(resp, rows, 201)


class SyncAllDocs(ReplicationRoute):
    """`GET|POST /sync/{db}/_all_docs`: the principal's documents by id (keys, or a key range)."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read', 'POST': 'read'}

    def on_get(self, req, resp, db):
        self._all(req, resp, db, json_param(req, 'keys', 'a JSON list of ids'))

    def on_post(self, req, resp, db):
        sent = body(req)
        keys = sent.get('keys')
        self._all(req, resp, db, keys)

    def _all(self, req, resp, db, keys):
        space = namespace(req)
        include_docs = bool_param(req, 'include_docs')
        limit = whole_number(req, 'limit', default=MAX_ROWS, minimum=1, maximum=MAX_ROWS)
        if keys is not None:
            if not isinstance(keys, list) or len(keys) > MAX_ROWS:
                raise Problem(400, 'invalid-parameter', f'keys must be a list of at most {MAX_ROWS} ids.')
            answer(
                resp,
                {'total_rows': len(keys), 'offset': 0, 'rows': self._keyed(db, space, keys, include_docs)},
            )
            return
        descending = bool_param(req, 'descending')
        start = _key(req, 'startkey', 'start_key')
        end = _key(req, 'endkey', 'end_key')
        page = self._couch.list(
            db,
            limit=limit,
            start_key=None if start is None else space.prefix + start,
            end_key=None if end is None else space.prefix + end,
            include_docs=include_docs,
            descending=descending,
            max_bytes=self._max_bytes,
            id_prefix=space.prefix or None,
        )
        rows = [_listed(space, row, include_docs) for row in page.rows]
        total = page.total_rows if not space.prefix else len(rows)
        answer(resp, {'total_rows': total, 'offset': 0, 'rows': rows})

    def _keyed(self, db: str, space: Namespace, keys: list, include_docs: bool) -> list:
        inner = [space.inward(k) for k in keys]
        found = iter(self._couch.lookup(db, [i for i in inner if i is not None], self._max_bytes))
        rows = []
        for key, inner_id in zip(keys, inner, strict=True):
            row = next(found) if inner_id is not None else None
            if row is None or 'rev' not in row:
                rows.append({'key': key, 'error': 'not_found'})
                continue
            listed = {'id': key, 'key': key, 'value': {'rev': row['rev']}}
            if include_docs:
                listed['doc'] = space.doc_out(_parsed(row.get('doc')))
            rows.append(listed)
        return rows


# A refused document's reason, in couchgate's words whatever the database wrote.
_REASONS = {
    'conflict': 'Document update conflict.',
    'forbidden': 'The database refused this document.',
    'unauthorized': 'The database refused this document.',
}


def _row_out(row: dict, doc_id: str) -> dict:
    """A `_bulk_docs` result under the client's id; a refusal keeps its error, in our words."""
    if 'error' not in row:
        return dict(row, id=doc_id)
    error = str(row['error'])
    return {
        'id': doc_id,
        'error': error,
        'reason': _REASONS.get(error, 'The database did not store this document.'),
    }


def _missing(doc: dict) -> dict:
    doc_id = doc.get('id')
    error = {'id': doc_id, 'rev': doc.get('rev', 'undefined'), 'error': 'not_found', 'reason': 'missing'}
    return {'id': doc_id, 'docs': [{'error': error}]}


def _result_out(space: Namespace, asked: dict, result: Any) -> dict:
    """An upstream `_bulk_get` result as the client knows it: its ids, never another's."""
    if not isinstance(result, dict) or not isinstance(result.get('docs'), list):
        return _missing(asked)
    docs = []
    for item in result['docs']:
        if isinstance(item, dict) and 'ok' in item:
            docs.append({'ok': space.doc_out(item['ok'])})
        elif isinstance(item, dict) and isinstance(item.get('error'), dict):
            error = str(item['error'].get('error', 'not_found'))
            reason = 'missing' if error == 'not_found' else 'The database could not read this revision.'
            rev = item['error'].get('rev', asked.get('rev', 'undefined'))
            docs.append({'error': {'id': asked.get('id'), 'rev': rev, 'error': error, 'reason': reason}})
        else:  # pouchdb-server's {} or {"missing": rev}: CouchDB's not_found
            docs.extend(_missing(asked)['docs'])
    return {'id': asked.get('id'), 'docs': docs or _missing(asked)['docs']}


def _listed(space: Namespace, row: Any, include_docs: bool) -> dict:
    parsed = _parsed(row)
    doc_id = space.outward(parsed['id']) or parsed['id']
    listed = {'id': doc_id, 'key': doc_id, 'value': {'rev': parsed['rev']}}
    if include_docs and 'doc' in parsed:
        listed['doc'] = space.doc_out(parsed['doc'])
    return listed


def _parsed(value: Any) -> Any:
    """A row or document the port gave as raw JSON (an orjson.Fragment), parsed."""
    return loads(dumps(value))


def _key(req, *names: str) -> str | None:
    for name in names:
        if req.get_param(name) is not None:
            key = json_param(req, name, 'a JSON string')
            if not isinstance(key, str):
                raise Problem(400, 'invalid-parameter', f'{name} must be a JSON string.')
            return key
    return None
