"""Mango queries against the real server: fields and limit applied, an unknown operator a 400."""

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
