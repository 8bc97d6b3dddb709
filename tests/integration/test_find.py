"""Mango queries against the real server: fields and limit applied, an unknown operator a 400."""

import json

import pytest

from tests.support.problems import assert_problem


def test_find_runs_mango_queries_and_maps_bad_ones_to_400(client, db, couch_admin):
    docs = [{'_id': f'f{i}', 'cuisine': 'thai' if i % 2 else 'lao', 'n': i} for i in range(6)]
    couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs})
    found = client.simulate_post(
        f'/v1/{db}/find', json={'selector': {'cuisine': 'thai'}, 'fields': ['_id', 'n'], 'limit': 2}
    )
    assert found.status_code == 200
    assert [d['_id'] for d in found.json['docs']] == ['f1', 'f3']
    assert set(found.json['docs'][0]) == {'_id', 'n'}
    assert 'bookmark' in found.json
    bad = client.simulate_post(f'/v1/{db}/find', json={'selector': {'n': {'$nosuchop': 1}}})
    assert_problem(bad, 400, 'bad-request')


def test_everything_the_schema_allows_works_and_a_sort_without_index_is_explained(client, db, couch_admin):
    couch_admin.post(f'{db}/_bulk_docs', json={'docs': [{'_id': f'f{i}', 'n': i} for i in range(3)]})
    empty = client.simulate_post(f'/v1/{db}/find', json={'selector': {}, 'sort': [], 'fields': []})
    assert empty.status_code == 200, empty.text
    assert [d['n'] for d in empty.json['docs']] == [0, 1, 2]  # no fields named: whole documents
    sorted_ = client.simulate_post(
        f'/v1/{db}/find', json={'selector': {'n': {'$gt': 0}}, 'sort': [{'n': 'desc'}]}
    )
    problem = assert_problem(sorted_, 400, 'sort-needs-index')
    assert problem['detail'] == (
        'The database has no index for this sort: sort on indexed fields, or leave "sort" out.'
    )


@pytest.mark.app_env(API_MAX_PAGE_BYTES='1024')
def test_a_find_ends_at_the_byte_budget_with_at_least_one_document(client, db, couch_admin):
    docs = [{'_id': f'q{i:03d}', 'kind': 'big' if i == 0 else 'small', 'pad': 'x' * 300} for i in range(8)]
    docs[0]['pad'] = 'y' * 5000  # alone over the budget
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    small = client.simulate_post(f'/v1/{db}/find', json={'selector': {'kind': 'small'}, 'limit': 25})
    assert small.status_code == 200
    found = [d['_id'] for d in small.json['docs']]
    assert 1 <= len(found) < 7 and found == [f'q{i:03d}' for i in range(1, len(found) + 1)]
    assert sum(len(json.dumps(d)) for d in small.json['docs']) <= 1024  # of 7 matches, what fits in 1 KiB
    assert 'bookmark' in small.json
    big = client.simulate_post(f'/v1/{db}/find', json={'selector': {}, 'limit': 25})
    assert [d['_id'] for d in big.json['docs']] == ['q000']  # over the budget alone: still served
