"""POST /v1/{db}/lookup against the real server: many documents by id, one upstream request, request order."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_stored_documents import STORED, as_stored, store
from tests.support.problems import assert_problem
from tests.support.scoped_keys import PREFIX, api_keys, bearer


def test_present_deleted_and_missing_ids_in_request_order(client, db, couch_admin, front):
    revs = {i: couch_admin.put(f'{db}/{i}', json={'name': i}).json()['rev'] for i in ('b', 'a', 'gone')}
    couch_admin.delete(f'{db}/gone', params={'rev': revs['gone']})
    front.reset()
    result = client.simulate_post(f'/v1/{db}/lookup', json={'ids': ['b', 'never', 'gone', 'a', 'b']})
    assert result.status_code == 200, result.text
    assert result.json == {
        'docs': [
            {'id': 'b', 'rev': revs['b'], 'doc': {'_id': 'b', '_rev': revs['b'], 'name': 'b'}},
            {'id': 'never', 'status': 404},
            {'id': 'gone', 'status': 404},  # deleted and never written look alike
            {'id': 'a', 'rev': revs['a'], 'doc': {'_id': 'a', '_rev': revs['a'], 'name': 'a'}},
            {'id': 'b', 'rev': revs['b'], 'doc': {'_id': 'b', '_rev': revs['b'], 'name': 'b'}},
        ]
    }
    assert [(r.method, r.path.split('?')[0]) for r in front.requests] == [('POST', f'/{db}/_all_docs')]
    assert sorted(json.loads(front.requests[0].body)['keys']) == ['a', 'b', 'gone', 'never']


@pytest.fixture
def hostile_db(db, couch_admin) -> str:
    for raw in STORED.values():
        store(couch_admin, db, raw)
    return db


def test_every_stored_document_passes_through_byte_for_byte(client, hostile_db, couch_admin):
    # Lone surrogates, nesting beyond any parser's depth, big integers: stored by others, served as stored.
    result = client.simulate_post(f'/v1/{hostile_db}/lookup', json={'ids': list(STORED)})
    assert result.status_code == 200, result.text
    for doc_id in STORED:
        assert as_stored(couch_admin, hostile_db, doc_id) in result.content, doc_id


def test_a_lookup_beyond_the_page_bytes_is_a_413_problem(make_client, db, couch_admin):
    for n in range(3):
        couch_admin.put(f'{db}/big-{n}', json={'text': 'x' * 2000})
    client = make_client(API_MAX_PAGE_BYTES='3000')
    assert client.simulate_post(f'/v1/{db}/lookup', json={'ids': ['big-0']}).status_code == 200
    result = client.simulate_post(f'/v1/{db}/lookup', json={'ids': ['big-0', 'big-1', 'big-2']})
    assert_problem(result, 413, 'lookup-too-large')


def test_more_than_a_thousand_ids_is_a_413_and_bad_ids_a_400(client, db, front):
    assert_problem(
        client.simulate_post(f'/v1/{db}/lookup', json={'ids': ['a'] * 1001}), 413, 'too-many-items'
    )
    assert_problem(
        client.simulate_post(f'/v1/{db}/lookup', json={'ids': ['_design/x']}), 400, 'invalid-document-id'
    )
    assert_problem(client.simulate_post(f'/v1/{db}/lookup', json={'ids': 'a'}), 400, 'invalid-body')
    assert front.requests == []


def test_a_prefix_key_finds_only_ids_inside_its_prefix(make_client, make_db, db, couch_admin, front):
    for doc_id in (f'{PREFIX}mine', 'theirs'):
        couch_admin.put(f'{db}/{doc_id}', json={'v': 1})
    other = make_db()
    client = make_client(db, other, API_KEYS=api_keys(db, other))
    front.reset()
    ids = [f'{PREFIX}mine', 'theirs']
    result = client.simulate_post(f'/v1/{db}/lookup', json={'ids': ids}, headers=bearer('tenant'))
    assert [entry.get('status', 200) for entry in result.json['docs']] == [200, 404]
    assert all(json.loads(r.body)['keys'] == [f'{PREFIX}mine'] for r in front.requests if r.body)


def test_the_capacity_guard_counts_a_read_per_id(make_client, db, front):
    client = make_client(
        CLOUDANT_CAPACITY='reads=10,writes=10,queries=1',
        CLOUDANT_CAPACITY_MARGIN='120',  # a window of two minutes: what was spent stays spent
        CLOUDANT_QUEUE_MAX_WAIT='0.001',
        WEB_CONCURRENCY='1',
    )
    ids = [f'id-{n}' for n in range(8)]
    assert client.simulate_post(f'/v1/{db}/lookup', json={'ids': ids}).status_code == 200
    front.reset()
    refused = client.simulate_post(f'/v1/{db}/lookup', json={'ids': ids[:3]})
    assert_problem(refused, 429, 'capacity-exceeded')  # 8 + 3 reads > 10: nothing sent
    assert front.requests == []
    assert client.simulate_post(f'/v1/{db}/lookup', json={'ids': ids[:2]}).status_code == 200
