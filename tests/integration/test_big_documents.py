"""Pages of big documents ask the database for what fits their bytes, not for `limit` documents.

300 documents of 400 KB: a page of `limit=1000&include_docs=true` holds about 20 of them (8 MB,
API_MAX_PAGE_BYTES); asking for all 300 made the server produce 120 MB a page, and 8 at once ran
past the deadline (api/upstream/row_sizes.py).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.upstream.row_sizes import FIRST

DOC_BYTES = 400_000
COUNT = 300


@pytest.fixture(scope='module')
def big_db(pouch, couch_admin):
    name = 'tbig' + str(id(pouch))[-6:]
    couch_admin.delete(name)
    assert couch_admin.put(name).status_code == 201
    for at in range(0, COUNT, 10):
        docs = [{'_id': f'big-{i:03d}', 'pad': 'x' * DOC_BYTES} for i in range(at, at + 10)]
        assert couch_admin.post(f'{name}/_bulk_docs', json={'docs': docs}).status_code == 201
    yield name
    couch_admin.delete(name)


def asked_limits(front, db: str) -> list[int]:
    return [json.loads(r.body)['limit'] for r in front.requests if r.path.split('?')[0] == f'/{db}/_all_docs']


def test_eight_concurrent_pages_of_big_documents_all_answer_and_ask_for_what_fits(make_client, big_db, front):
    client = make_client(big_db, CLOUDANT_POOL_MAXSIZE='8')
    front.reset()

    def page(_):
        return client.simulate_get(f'/v1/{big_db}/docs', params={'limit': 1000, 'include_docs': 'true'})

    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(page, range(8)))
    assert [p.status_code for p in pages] == [200] * 8
    served = sum(len(p.json['rows']) for p in pages)
    assert all(p.json.get('next') for p in pages) and served >= 8 * 15
    # Cold, a page asks for the first rows a worker asks for (api/upstream/row_sizes.py), never for
    # its `limit` of 1,000 (+1): 8,008 rows were asked for before.
    assert max(asked_limits(front, big_db)) <= FIRST + 1 and sum(asked_limits(front, big_db)) <= 8 * (
        FIRST + 1
    )
    # Warm, a page is one request asking for about what fits.
    front.reset()
    again = page(0)
    assert again.status_code == 200 and len(asked_limits(front, big_db)) == 1
    assert asked_limits(front, big_db)[0] <= 2 * len(again.json['rows'])


def test_export_batches_of_big_documents_ask_for_what_fits(make_client, big_db, front):
    client = make_client(big_db, EXPORT_BATCH_SIZE='1000')
    front.reset()
    result = client.simulate_get(f'/v1/{big_db}/export')
    assert result.status_code == 200 and result.text.count('\n') == COUNT
    assert sum(asked_limits(front, big_db)) <= 2 * COUNT


def test_a_find_over_big_documents_asks_for_what_fits(make_client, big_db, front):
    client = make_client(big_db)
    query = {'selector': {'_id': {'$gt': None}}, 'limit': 1000}
    warm = client.simulate_post(f'/v1/{big_db}/find', json=query)  # the worker learns their size
    assert warm.status_code == 200, warm.text[:300]
    front.reset()
    result = client.simulate_post(f'/v1/{big_db}/find', json=query)
    assert result.status_code == 200, result.text[:300]
    asked = [json.loads(r.body)['limit'] for r in front.requests if r.path.endswith('/_find')]
    assert len(asked) == 1 and asked[0] <= 2 * len(result.json['docs'])
