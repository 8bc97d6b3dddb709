"""The floor couchgate is measured against: a bare WSGI pass-through, no framework and no SDK.

One module-level urllib3.PoolManager per worker; `GET /v1/{db}/docs` sends the upstream the same
`_all_docs` request couchgate sends for a first page (bench/workloads.py: the limit plus one row plus
the BENCH_DESIGN_DOCS design documents it crosses), `GET /v1/{db}/docs/{id}` a document GET, and
`POST /v1/{db}/docs` the client's body as a new document; the upstream's status and bytes go
back untouched. Anything couchgate spends beyond this is the price of what it adds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from urllib.parse import parse_qs, quote

import urllib3

UPSTREAM = os.environ['CLOUDANT_URL'].rstrip('/')
POOL = urllib3.PoolManager(maxsize=16, ca_certs=os.environ.get('REQUESTS_CA_BUNDLE'))
_JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
DESIGN_DOCS = int(os.environ.get('BENCH_DESIGN_DOCS', '0'))
HIGHEST_ID = '\uffff' * 4  # bench/workloads.py's


def app(environ: dict, start_response) -> Iterable[bytes]:
    parts = environ.get('PATH_INFO', '').split('/', 4)  # '', 'v1', db, 'docs'[, id]
    if len(parts) < 4 or parts[1] != 'v1' or parts[3] != 'docs':
        start_response('404 Not Found', [('Content-Length', '0')])
        return []
    db = quote(parts[2], safe='')
    if len(parts) == 5:
        upstream = POOL.request('GET', f'{UPSTREAM}/{db}/{quote(parts[4], safe="")}', headers=_JSON)
    elif environ['REQUEST_METHOD'] == 'POST':
        body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))
        upstream = POOL.request('POST', f'{UPSTREAM}/{db}', body=body, headers=_JSON)
    else:
        query = parse_qs(environ.get('QUERY_STRING', ''))
        listing = {
            'limit': int(query.get('limit', ['25'])[0]) + 1 + DESIGN_DOCS,
            'include_docs': query.get('include_docs', ['false'])[0] == 'true',
            'end_key': HIGHEST_ID,
        }
        upstream = POOL.request('POST', f'{UPSTREAM}/{db}/_all_docs', body=json.dumps(listing), headers=_JSON)
    data = upstream.data
    start_response(
        f'{upstream.status} {upstream.reason}',
        [('Content-Type', 'application/json'), ('Content-Length', str(len(data)))],
    )
    return [data]
