"""One upstream request per page, whatever design documents the range holds (counted at the TLS front).

Design documents are not listed but count in `_all_docs`' limit: a worker that meets them once
asks for that many more rows from then on (api/upstream/design_block.py).
"""

from __future__ import annotations

import json

import pytest


def seeded(make_db, couch_admin, designs: int) -> str:
    db = make_db()
    # 108 documents around the design block: digits sort before "_design/", letters after it.
    docs = [{'_id': f'{i:03d}', 'n': i} for i in range(54)] + [
        {'_id': f'k{i:03d}', 'n': i} for i in range(54)
    ]
    docs += [{'_id': f'_design/d{i:02d}', 'views': {}} for i in range(designs)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    return db


def _all_docs_requests(front, db: str) -> int:
    return sum(1 for r in front.requests if r.path.split('?')[0] == f'/{db}/_all_docs')


@pytest.mark.parametrize('designs', [0, 2, 50])
def test_every_page_costs_one_upstream_request(make_client, make_db, couch_admin, front, designs):
    db = seeded(make_db, couch_admin, designs)
    client = make_client(db)
    front.reset()
    cold = client.simulate_get(f'/v1/{db}/docs', params={'include_docs': 'true'})  # 25, as by default
    assert len(cold.json['rows']) == 25 and _all_docs_requests(front, db) == 1
    # The worker meets the block once, and learns how big the documents are.
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 100, 'include_docs': 'true'})
    pages: list[dict] = [
        {'limit': 100},
        {'limit': 60, 'include_docs': 'true'},
        {'limit': 100, 'descending': 'true'},
        {'limit': 10, 'start_key': '050'},  # starts just before the block
        {'limit': 10, 'start_key': 'k050', 'descending': 'true', 'include_docs': 'true'},
        {'limit': 1000},
    ]
    for params in pages:
        front.reset()
        page = client.simulate_get(f'/v1/{db}/docs', params=params)
        assert page.status_code == 200, page.text
        assert _all_docs_requests(front, db) == 1 == front.request_count, params
        assert 'requests=1 ' in page.headers['server-timing']
        ids = [row['id'] for row in page.json['rows']]
        assert len(ids) == min(params['limit'], 108 if 'start_key' not in params else len(ids))
        assert not any(i.startswith('_design/') for i in ids)
        assert ids == sorted(ids, reverse=params.get('descending') == 'true')


@pytest.mark.parametrize('designs', [2, 50])
def test_following_next_links_lists_every_document_once_in_one_request_a_page(
    make_client, make_db, couch_admin, front, designs
):
    db = seeded(make_db, couch_admin, designs)
    client = make_client(db)
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 1000})
    seen, url, pages = [], f'/v1/{db}/docs?limit=7', 0
    front.reset()
    while url:
        page = client.simulate_get(url)
        seen += [row['id'] for row in page.json['rows']]
        url, pages = page.json.get('next'), pages + 1
    assert seen == sorted(seen) and len(seen) == 108 == len(set(seen))
    assert _all_docs_requests(front, db) == pages


@pytest.mark.parametrize('designs', [0, 2, 50])
def test_every_export_batch_costs_one_upstream_request(make_client, make_db, couch_admin, front, designs):
    db = seeded(make_db, couch_admin, designs)
    client = make_client(db, EXPORT_BATCH_SIZE='25')
    client.simulate_get(f'/v1/{db}/export')  # the worker meets the block once
    front.reset()
    result = client.simulate_get(f'/v1/{db}/export')
    docs = [json.loads(line) for line in result.text.splitlines()]
    assert len(docs) == 108 and not any(d['_id'].startswith('_design/') for d in docs)
    assert _all_docs_requests(front, db) == 5, [r.path for r in front.requests]  # 108 in batches of 25


def test_a_worker_that_meets_more_design_documents_than_it_knew_asks_for_them_next_time(
    make_client, make_db, couch_admin, front
):
    db = seeded(make_db, couch_admin, 2)
    client = make_client(db)
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 100})
    more = [{'_id': f'_design/e{i:02d}', 'views': {}} for i in range(10)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': more}).status_code == 201
    front.reset()
    first = client.simulate_get(f'/v1/{db}/docs', params={'limit': 100})
    assert len(first.json['rows']) == 100 and _all_docs_requests(front, db) == 2  # met 12, knew of 2
    front.reset()
    again = client.simulate_get(f'/v1/{db}/docs', params={'limit': 100})
    assert again.json == first.json and _all_docs_requests(front, db) == 1
