"""The alternatives couchgate is measured against: plain ibmcloudant use in a Falcon app.

Written the way the documentation and most apps do it: the SDK's own session (so TLS trust
comes from REQUESTS_CA_BUNDLE), its default JSON handling, no pool tuning, no logging.
The endpoints and their output match couchgate's (bench/workloads.py): a listing, a document,
a new document.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import falcon
from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibmcloudant import CloudantV1

DESIGN_DOCS = int(os.environ.get('BENCH_DESIGN_DOCS', '0'))  # in the bench database (bench/design_docs.py)


def new_client() -> CloudantV1:
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(os.environ['CLOUDANT_URL'])
    # What requests asks for in a production install (no brotli package; this venv has one for
    # test tools): the upstream compresses for every app target alike.
    client.get_http_client().headers['Accept-Encoding'] = 'gzip, deflate'
    return client


class Docs:
    """GET lists documents, POST adds one, like couchgate's Documents resource."""

    def __init__(self, client: Callable[[], CloudantV1]) -> None:
        self._client = client

    def on_get(self, req, resp, db):
        limit = req.get_param_as_int('limit', min_value=1, max_value=1000, default=25)
        include_docs = req.get_param_as_bool('include_docs', default=False)
        # Design documents are not listed: a page asks for as many more rows as the database holds.
        result = (
            self._client()
            .post_all_docs(db, limit=limit + DESIGN_DOCS, include_docs=include_docs)
            .get_result()
        )
        rows = [
            {'id': r['id'], 'rev': r['value']['rev'], **({'doc': r['doc']} if include_docs else {})}
            for r in result['rows']
            if not r['id'].startswith('_design/')
        ]
        resp.media = {'rows': rows, 'total_rows': result['total_rows']}

    def on_post(self, req, resp, db):
        result = self._client().post_document(db, req.get_media()).get_result()
        resp.status = falcon.HTTP_201
        resp.media = {'id': result['id'], 'rev': result['rev']}


class Doc:
    """GET reads one document, like couchgate's Document resource."""

    def __init__(self, client: Callable[[], CloudantV1]) -> None:
        self._client = client

    def on_get(self, req, resp, db, doc_id):
        doc = self._client().get_document(db, doc_id).get_result()
        resp.etag = doc['_rev']
        resp.media = doc


def make_app(client: Callable[[], CloudantV1]) -> falcon.App:
    app = falcon.App()
    app.add_route('/v1/{db}/docs', Docs(client))
    app.add_route('/v1/{db}/docs/{doc_id}', Doc(client))
    return app
