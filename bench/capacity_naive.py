"""The seed's way for the capacity scenario: one module-level ibmcloudant client, no guard at all."""

from __future__ import annotations

import uuid

import falcon

from bench.naive import Docs, new_client

CLIENT = new_client()


class Doc:
    """GET one document."""

    def on_get(self, req, resp, db, doc_id):
        resp.media = CLIENT.get_document(db, doc_id).get_result()


class Create(Docs):
    """GET lists (as the seed), POST creates."""

    def on_post(self, req, resp, db):
        result = CLIENT.put_document(db, uuid.uuid4().hex, req.get_media()).get_result()
        resp.status = falcon.HTTP_201
        resp.media = {'id': result['id'], 'rev': result['rev']}


app = falcon.App()
app.add_route('/v1/{db}/docs', Create(lambda: CLIENT))
app.add_route('/v1/{db}/docs/{doc_id}', Doc())
