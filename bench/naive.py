"""The alternatives couchgate is measured against: plain ibmcloudant use in a Falcon app.

Written the way the documentation and most apps do it: the SDK's own session (so TLS trust
comes from REQUESTS_CA_BUNDLE), its default JSON handling, no pool tuning, no logging.
The endpoint and its output match couchgate's `GET /v1/{db}/docs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import falcon
from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibmcloudant import CloudantV1


def new_client() -> CloudantV1:
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(os.environ['CLOUDANT_URL'])
    return client


class Docs:
    """GET lists documents, like couchgate's Documents resource."""

    def __init__(self, client: Callable[[], CloudantV1]) -> None:
        self._client = client

    def on_get(self, req, resp, db):
        limit = req.get_param_as_int('limit', min_value=1, max_value=1000, default=25)
        include_docs = req.get_param_as_bool('include_docs', default=False)
        result = self._client().post_all_docs(db, limit=limit, include_docs=include_docs).get_result()
        rows = [
            {'id': r['id'], 'rev': r['value']['rev'], **({'doc': r['doc']} if include_docs else {})}
            for r in result['rows']
        ]
        resp.media = {'rows': rows, 'total_rows': result['total_rows']}


def make_app(client: Callable[[], CloudantV1]) -> falcon.App:
    app = falcon.App()
    app.add_route('/v1/{db}/docs', Docs(client))
    return app
