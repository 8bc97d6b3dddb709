"""The documents of an allowed database: listing and creating."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

import falcon
from injector import inject

from api.config import Settings
from api.edge.id_prefix import creatable, id_prefix, new_id
from api.edge.idempotency_key import derived_id
from api.edge.request_input import bool_param, document_id, int_param, json_object, single_param
from api.edge.wtf8 import encoded, query_value
from api.errors import Problem
from api.upstream.couch import Couch
from resources.create_once import create_once, created_before
from resources.idempotency import Idempotency


class Documents:
    """The collection of documents in one database."""

    cache_control = 'no-cache'  # anonymous listings may be stored, but only used after revalidation
    scopes: ClassVar[dict[str, str]] = {'GET': 'read', 'POST': 'write'}  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch, settings: Settings, idempotency: Idempotency) -> None:
        self._couch = couch
        self._idempotency = idempotency
        self._max_page_bytes = settings.max_page_bytes

    def on_get(self, req, resp, db):
        limit = int_param(req, 'limit', default=25, minimum=1, maximum=1000)
        start_key = query_value(req, 'start_key', single_param(req, 'start_key'))
        end_key = query_value(req, 'end_key', single_param(req, 'end_key'))
        include_docs, descending = bool_param(req, 'include_docs'), bool_param(req, 'descending')
        page = self._couch.list(
            db,
            limit=limit,
            start_key=start_key,
            end_key=end_key,
            include_docs=include_docs,
            descending=descending,
            max_bytes=self._max_page_bytes,
            id_prefix=id_prefix(req),
        )
        query = {
            'start_key': start_key,
            'end_key': end_key,
            'include_docs': include_docs,
            'descending': descending,
        }
        resp.media = {'rows': page.rows, 'total_rows': page.total_rows}
        if id_prefix(req) is not None:
            del resp.media['total_rows']  # the whole database's count: not for a key that sees a part
        if page.next_key is not None:
            params = dict(query, limit=limit, start_key=page.next_key)
            link = '&'.join(f'{k}={_param(v)}' for k, v in params.items() if v not in (None, False))
            resp.media['next'] = f'/v1/{quote(db, safe="")}/docs?{link}'
            resp.append_link(resp.media['next'], 'next')

    def on_post(self, req, resp, db):
        self._idempotency.once(
            req,
            resp,
            db,
            lambda scope: self._create(req, resp, db, scope),
            lambda scope: self._recall(req, resp, db, scope),
        )

    def _create(self, req, resp, db, scope: str | None) -> None:
        body = json_object(req)
        if '_id' in body:
            creatable(req, document_id(body['_id']))
        if '_rev' in body:
            raise Problem(400, 'reserved-field', '"_rev" has no place in a new document.')
        if scope is not None:  # an Idempotency-Key: a create that is safe to send again
            doc_id = body.get('_id') or derived_id(req, scope)
            rev = create_once(self._couch, db, dict(body, _id=doc_id), derived='_id' not in body)
        elif (chosen := None if '_id' in body else new_id(req)) is not None:
            # a prefix key: the id is chosen here, inside the prefix
            doc_id, rev = chosen, self._couch.put(db, chosen, body, None)
        else:
            doc_id, rev = self._couch.create(db, body)
        _created(resp, db, doc_id, rev)

    def _recall(self, req, resp, db, scope: str) -> bool:
        """The first answer to this keyed create, told by the database (its record was not kept)."""
        body = json_object(req)
        doc_id = body.get('_id') or derived_id(req, scope)
        rev = created_before(self._couch, db, dict(body, _id=doc_id), derived='_id' not in body)
        if rev is None:
            return False
        _created(resp, db, doc_id, rev)
        return True


def _created(resp, db: str, doc_id: str, rev: str) -> None:
    resp.status = falcon.HTTP_201
    resp.location = f'/v1/{quote(db, safe="")}/docs/{quote(doc_id, safe="")}'
    resp.etag = rev
    resp.media = {'id': doc_id, 'rev': rev}


def _param(value):
    # Ids are percent-encoded as UTF-8, and lone surrogates as WTF-8 (api/edge/wtf8.py).
    return 'true' if value is True else encoded(str(value))
