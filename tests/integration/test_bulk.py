"""POST /v1/{db}/bulk against the real server: a result per item, in order, each failure with its reason."""

from __future__ import annotations

import json

import pytest

from tests.support.problems import assert_problem
from tests.support.scoped_keys import PREFIX, api_keys, bearer


def upstream(front) -> list[tuple[str, str]]:
    return [(r.method, r.path.split('?')[0]) for r in front.requests]


def test_a_thousand_documents_are_imported_in_one_upstream_request(client, db, couch_admin, front):
    docs = [{'_id': f'item-{n:04}', 'n': n} for n in range(1000)]
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': docs})
    assert result.status_code == 200
    results = result.json['results']
    assert [r['id'] for r in results] == [d['_id'] for d in docs]
    assert {r['status'] for r in results} == {201} and all(r['rev'].startswith('1-') for r in results)
    assert upstream(front) == [('POST', f'/{db}/_bulk_docs')]
    assert couch_admin.get(f'{db}/_all_docs').json()['total_rows'] == 1000
    assert couch_admin.get(f'{db}/item-0999').json()['n'] == 999


def test_each_item_gets_its_own_status_and_problem(client, db, couch_admin, front):
    def put(doc_id, body):
        return couch_admin.put(f'{db}/{doc_id}', json=body).json()['rev']

    kept, changed, gone = put('kept', {'v': 1}), put('changed', {'v': 1}), put('gone', {'v': 1})
    put('changed', {'v': 2, '_rev': changed})
    couch_admin.delete(f'{db}/gone', params={'rev': gone})
    doomed = put('doomed', {'v': 1})
    front.reset()
    docs = [
        {'_id': 'fresh', 'v': 1},  # create with an id
        {'v': 2},  # create, the server chooses the id
        {'_id': 'kept', '_rev': kept, 'v': 2},  # update
        {'_id': 'doomed', '_rev': doomed, '_deleted': True},  # delete
        {'_id': 'changed', '_rev': changed, 'v': 3},  # stale rev: 412
        {'_id': 'gone', '_rev': gone, 'v': 3},  # deleted since: 409
        {'_id': 'never', '_rev': '1-abc', 'v': 3},  # never existed: 404
        {'_id': '_design/x', 'views': {}},  # couchgate refuses: 400
        {'_id': 'twice', 'v': 1},
        {'_id': 'twice', 'v': 2},  # one id twice in a batch: both 400
        {'_id': 'x', '_attachments': {}},  # reserved field: 400
        {'_id': 'fresh2', 'v': 1},
        'not an object',
    ]
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': docs})
    assert result.status_code == 200, result.text
    results = result.json['results']
    statuses = [r['status'] for r in results]
    assert statuses == [201, 201, 200, 200, 412, 409, 404, 400, 400, 400, 400, 201, 400]
    problems = [r['problem']['type'] if 'problem' in r else None for r in results]
    assert problems[4:11] == [
        '/problems/precondition-failed',
        '/problems/deleted',
        '/problems/not-found',
        '/problems/invalid-document-id',
        '/problems/duplicate-id',
        '/problems/duplicate-id',
        '/problems/reserved-field',
    ]
    assert 'deleted' in results[5]['problem']['detail'] and results[5]['problem']['title'] == 'Conflict'
    assert [r['id'] for r in results[:1] + results[2:11]] == [
        'fresh', 'kept', 'doomed', 'changed', 'gone', 'never', '_design/x', 'twice', 'twice', 'x'
    ]  # fmt: skip
    assert results[1]['id'] and results[12]['id'] is None
    assert all('quorum' not in r for r in results)  # pouchdb-server answers 201: quorum met
    # One write and one batched read of the conflicts; refused items never went upstream.
    assert upstream(front) == [('POST', f'/{db}/_bulk_docs'), ('POST', f'/{db}/_all_docs')]
    sent = [d.get('_id') for d in json.loads(front.requests[0].body)['docs']]
    assert '_design/x' not in sent and 'twice' not in sent and 'x' not in sent
    assert couch_admin.get(f'{db}/kept').json()['v'] == 2
    assert couch_admin.get(f'{db}/doomed').status_code == 404
    assert couch_admin.get(f'{db}/twice').status_code == 404
    assert couch_admin.get(f'{db}/changed').json()['v'] == 2


def test_a_null_rev_is_a_create(client, db):
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'_id': 'n', '_rev': None, 'v': 1}]})
    assert result.json['results'][0]['status'] == 201


def test_a_create_over_a_live_document_is_a_409_conflict(client, db, couch_admin):
    couch_admin.put(f'{db}/taken', json={'v': 1})
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'_id': 'taken', 'v': 2}]})
    (only,) = result.json['results']
    assert only['status'] == 409 and only['problem']['type'] == '/problems/conflict'


@pytest.mark.parametrize(
    'body',
    [[], {'docs': {}}, {'docs': [], 'new_edits': False}, {'documents': []}, {}],
    ids=['array', 'docs-object', 'extra-member', 'wrong-member', 'empty'],
)
def test_a_malformed_body_is_a_400_for_the_whole_request(client, db, body, front):
    assert_problem(client.simulate_post(f'/v1/{db}/bulk', json=body), 400, 'invalid-body')
    assert front.requests == []


def test_more_than_a_thousand_documents_is_a_413(client, db, front):
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'n': n} for n in range(1001)]})
    assert_problem(result, 413, 'too-many-items')
    assert front.requests == []


def test_an_empty_batch_writes_nothing(client, db, front):
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': []})
    assert result.status_code == 200 and result.json == {'results': []}
    assert front.requests == []


def test_a_prefix_key_gets_403_for_items_outside_its_prefix(make_client, make_db, db, couch_admin):
    other = make_db()
    client = make_client(db, other, API_KEYS=api_keys(db, other))
    docs = [{'_id': f'{PREFIX}mine', 'v': 1}, {'_id': 'theirs', 'v': 1}, {'v': 1}]
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': docs}, headers=bearer('tenant'))
    statuses = [r['status'] for r in result.json['results']]
    assert statuses == [201, 403, 201]
    assert result.json['results'][1]['problem']['type'] == '/problems/outside-scope'
    assert result.json['results'][2]['id'].startswith(PREFIX)
    assert couch_admin.get(f'{db}/theirs').status_code == 404


def test_a_bulk_needs_the_write_scope(make_client, make_db, db):
    other = make_db()
    client = make_client(db, other, API_KEYS=api_keys(db, other))
    refused = client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'v': 1}]}, headers=bearer('reader'))
    assert_problem(refused, 403, 'insufficient-scope')


# A window of two minutes: what the first request spent is still spent when the second arrives.
CAPACITY = {
    'CLOUDANT_CAPACITY': 'reads=10,writes=10,queries=5',
    'CLOUDANT_CAPACITY_MARGIN': '120',
    'CLOUDANT_QUEUE_MAX_WAIT': '0.001',
    'WEB_CONCURRENCY': '1',
}


def test_the_capacity_guard_counts_a_write_per_document(make_client, db, couch_admin, front):
    client = make_client(**CAPACITY)
    first = client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'n': n} for n in range(8)]})
    assert first.status_code == 200 and {r['status'] for r in first.json['results']} == {201}
    front.reset()
    refused = client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'n': n} for n in range(3)]})
    assert_problem(refused, 429, 'capacity-exceeded')  # 8 + 3 writes > 10: nothing sent
    assert front.requests == []
    assert client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'n': 1}, {'n': 2}]}).status_code == 200
