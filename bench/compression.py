"""Bytes on the wire and Python CPU per request, with and without `Accept-Encoding: gzip`.

    python -m bench.compression [--repeat N]

Starts an in-memory pouchdb-server, seeds 100 demo documents (foundbite) and 10,000 more (bulk),
and calls the real app in process (falcon's test client, no socket): the Swagger bundle, a
100-document listing with include_docs, and the export of the 10,000 documents. The body bytes
are what goes on the wire (headers listed apart); CPU is time.process_time() of this process
(the app and the test client; pouchdb-server's CPU is its own) divided by the requests made.
The app keeps the gzip of bodies that repeat (by digest): `gzip_uncached_ms` is what compressing
the body costs when it has changed since the last request.
"""

from __future__ import annotations

import argparse
import json
import time

from falcon import testing

from api.app import create_app
from api.cli.demo import seed
from api.config import Settings
from api.edge.compression import gzip_bytes
from container import build_injector
from tests.support.pouch import PouchServer

TARGETS = {
    'swagger bundle': '/docs/assets/swagger-ui-bundle.js',
    'listing, 100 docs': '/v1/foundbite/docs?limit=100&include_docs=true',
    'export, 10,000 docs': '/v1/bulk/export',
}
ENCODINGS = {'identity': {}, 'gzip': {'Accept-Encoding': 'gzip'}}


def measure(client: testing.TestClient, path: str, headers: dict, repeat: int) -> dict:
    result = client.simulate_get(path, headers=headers)
    assert result.status_code == 200, (path, result.status_code, result.text[:200])
    header_bytes = sum(len(k) + len(v) + 4 for k, v in result.headers.items())
    started = time.process_time()
    for _ in range(repeat):
        client.simulate_get(path, headers=headers)
    cpu_ms = (time.process_time() - started) * 1000 / repeat
    row = {
        'body_bytes': len(result.content),
        'header_bytes': header_bytes,
        'content_encoding': result.headers.get('Content-Encoding', 'identity'),
        'cpu_ms': round(cpu_ms, 2),
    }
    if not headers:  # what gzip alone costs for this body, uncached (the app caches repeated bodies)
        started = time.process_time()
        for _ in range(repeat):
            gzip_bytes(result.content)
        row['gzip_uncached_ms'] = round((time.process_time() - started) * 1000 / repeat, 2)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.compression', description=__doc__)
    parser.add_argument('--repeat', type=int, default=20, help='requests per measurement (export: a fifth)')
    args = parser.parse_args(argv)
    with PouchServer() as couch:
        seed(couch.url, 'foundbite', 100)
        seed(couch.url, 'bulk', 10_000)  # the demo's documents again: realistic, varied JSON
        settings = Settings.from_env({'CLOUDANT_URL': couch.url, 'CLOUDANT_DATABASES': 'foundbite,bulk'})
        client = testing.TestClient(create_app(build_injector(settings)))
        rows = []
        for name, path in TARGETS.items():
            repeat = max(1, args.repeat // 5) if 'export' in name else args.repeat
            for encoding, headers in ENCODINGS.items():
                rows.append({'target': name, 'accept': encoding, **measure(client, path, headers, repeat)})
    for row in rows:
        print(json.dumps(row))


if __name__ == '__main__':
    main()
