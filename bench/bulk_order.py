"""Bulk results against the stored documents, with pouchdb-server on disk answering in its own order.

`python -m bench.bulk_order`: 8 threads x 40 batches of 10 creates (half with `_id`), sent to the
server directly (how many batches come back out of request order) and through couchgate's app
(how many results disagree with the document stored under the id they name). Issue 26's figure.
"""

from __future__ import annotations

import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import requests

from tests.support.app_client import app_client
from tests.support.pouch import CouchAdmin, PouchServer

THREADS, BATCHES, ITEMS = 8, 40, 10


def main() -> None:
    with PouchServer(tempfile.mkdtemp(), in_memory=False) as pouch:
        admin = CouchAdmin(pouch.url)
        admin.put('bulk_order')
        reordered = sum(_pool(lambda t: _direct(pouch.url, t)))
        print(f'directly: {reordered} of {THREADS * BATCHES} batches answered out of request order')
        client = app_client(SimpleNamespace(url=pouch.url), '', 'bulk_order', CLOUDANT_POOL_MAXSIZE='8')
        wrong = sum(_pool(lambda t: _through(client, admin, t)))
        print(f'through couchgate: {wrong} of {THREADS * BATCHES * ITEMS} results disagree with the server')


def _pool(task) -> list[int]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(task, range(THREADS)))


def _direct(url: str, thread: int) -> int:
    session, reordered = requests.Session(), 0
    for batch in range(BATCHES):
        docs = [{'_id': f'd{thread}-{batch}-{i}-{uuid.uuid4().hex[:6]}'} for i in range(ITEMS)]
        results = session.post(f'{url}/bulk_order/_bulk_docs', json={'docs': docs}).json()
        reordered += [r['id'] for r in results] != [d['_id'] for d in docs]
    return reordered


def _through(client, admin: CouchAdmin, thread: int) -> int:
    wrong = 0
    for batch in range(BATCHES):
        docs: list[dict[str, object]] = [{'n': i, 't': thread, 'b': batch} for i in range(ITEMS)]
        for i in range(1, ITEMS, 2):
            docs[i]['_id'] = f'c{thread}-{batch}-{i}'
        for doc, result in zip(
            docs,
            client.simulate_post('/v1/bulk_order/bulk', json={'docs': docs}).json['results'],
            strict=True,
        ):
            stored = admin.get(f'bulk_order/{result["id"]}').json()
            wrong += not (
                stored.get('_rev') == result.get('rev') and all(stored.get(k) == v for k, v in doc.items())
            )
    return wrong


if __name__ == '__main__':
    main()
