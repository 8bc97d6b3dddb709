"""Every row of the API contract against the real server, through the TLS front."""
from urllib.parse import quote

import pytest

from tests.integration import app_client


@pytest.fixture
def db(make_db):
    return make_db()


@pytest.fixture
def client(front, ca_bundle, db):
    return app_client(front, ca_bundle, db)


def test_document_lifecycle_against_the_server(client, db, couch_admin):
    base = f'/v1/{db}/docs'
    created = client.simulate_put(f'{base}/bite', json={'name': 'ramen'})
    assert created.status_code == 201
    rev1 = created.json['rev']
    assert created.headers['etag'] == f'"{rev1}"'

    got = client.simulate_get(f'{base}/bite')
    assert got.status_code == 200 and got.json['name'] == 'ramen'
    assert (got.json['_id'], got.json['_rev']) == ('bite', rev1)
    assert got.headers['etag'] == f'"{rev1}"'
    assert client.simulate_get(f'{base}/bite', headers={'If-None-Match': f'"{rev1}"'}).status_code == 304

    assert client.simulate_put(f'{base}/bite', json={'name': 'udon'}).status_code == 428
    updated = client.simulate_put(f'{base}/bite', json={'name': 'udon'}, headers={'If-Match': f'"{rev1}"'})
    assert updated.status_code == 200
    rev2 = updated.json['rev']
    assert rev2.startswith('2-') and updated.headers['etag'] == f'"{rev2}"'
    stale = client.simulate_put(f'{base}/bite', json={'name': 'soba'}, headers={'If-Match': f'"{rev1}"'})
    assert stale.status_code == 412

    assert client.simulate_delete(f'{base}/bite').status_code == 428
    assert client.simulate_delete(f'{base}/bite', headers={'If-Match': f'"{rev1}"'}).status_code == 412
    assert client.simulate_delete(f'{base}/bite', headers={'If-Match': f'"{rev2}"'}).status_code == 204
    assert client.simulate_get(f'{base}/bite').status_code == 404
    assert client.simulate_delete(f'{base}/bite', headers={'If-Match': f'"{rev2}"'}).status_code == 404
    assert couch_admin.get(f'{db}/bite').status_code == 404


def test_post_creates_with_a_server_id_or_the_given_one(client, db, couch_admin):
    result = client.simulate_post(f'/v1/{db}/docs', json={'name': 'pho'})
    assert result.status_code == 201
    doc_id = result.json['id']
    assert result.headers['location'] == f'/v1/{db}/docs/{doc_id}'
    assert result.headers['etag'] == f'"{result.json["rev"]}"'
    assert couch_admin.get(f'{db}/{doc_id}').json()['name'] == 'pho'

    assert client.simulate_post(f'/v1/{db}/docs', json={'_id': 'mine', 'v': 1}).status_code == 201
    again = client.simulate_post(f'/v1/{db}/docs', json={'_id': 'mine', 'v': 2})
    assert again.status_code == 409
    assert couch_admin.get(f'{db}/mine').json()['v'] == 1


def test_listing_pages_through_every_document(client, db, couch_admin):
    docs = [{'_id': f'k{i:03d}', 'n': i} for i in range(60)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    seen, url = [], f'/v1/{db}/docs?limit=25'
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200 and page.json['total_rows'] == 60
        seen += [row['id'] for row in page.json['rows']]
        url = page.json.get('next')
        assert ('link' in page.headers) == bool(url)
    assert seen == [d['_id'] for d in docs]

    window = client.simulate_get(f'/v1/{db}/docs', params={
        'start_key': 'k010', 'end_key': 'k005', 'descending': 'true', 'include_docs': 'true', 'limit': 3})
    assert [r['id'] for r in window.json['rows']] == ['k010', 'k009', 'k008']
    assert window.json['rows'][0]['doc']['n'] == 10 and window.json['rows'][0]['rev'].startswith('1-')


def test_find_runs_mango_queries_and_maps_bad_ones_to_400(client, db, couch_admin):
    docs = [{'_id': f'f{i}', 'cuisine': 'thai' if i % 2 else 'lao', 'n': i} for i in range(6)]
    couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs})
    found = client.simulate_post(f'/v1/{db}/find', json={
        'selector': {'cuisine': 'thai'}, 'fields': ['_id', 'n'], 'limit': 2})
    assert found.status_code == 200
    assert [d['_id'] for d in found.json['docs']] == ['f1', 'f3']
    assert set(found.json['docs'][0]) == {'_id', 'n'}
    assert 'bookmark' in found.json
    bad = client.simulate_post(f'/v1/{db}/find', json={'selector': {'n': {'$nosuchop': 1}}})
    assert bad.status_code == 400
    assert bad.headers['content-type'] == 'application/problem+json'


@pytest.mark.parametrize('doc_id', ['a/b', '..%2F_users', 'é', 'a?b', 'a#b', 'a b', '../x'])
def test_ids_reach_exactly_that_document(client, front, db, couch_admin, doc_id):
    path = f'/v1/{db}/docs/{quote(doc_id, safe="")}'
    assert client.simulate_put(path, json={'who': doc_id}).status_code == 201
    assert client.simulate_get(path).json['who'] == doc_id
    listed = couch_admin.get(f'{db}/_all_docs').json()['rows']
    assert [row['id'] for row in listed] == [doc_id]
    assert couch_admin.get(f'{db}/{quote(doc_id, safe="")}').json()['who'] == doc_id
    upstream_paths = [r.path for r in front.requests]
    assert upstream_paths and all(p.startswith(f'/{db}/{quote(doc_id, safe="")}') for p in upstream_paths)


def test_a_database_off_the_allowlist_is_404_with_no_upstream_request(client, front, make_db):
    other = make_db()
    for path in ['/v1/_users/docs', f'/v1/{other}/docs', f'/v1/{other}/docs/x', '/v1/_all_dbs/docs']:
        result = client.simulate_get(path)
        assert result.status_code == 404
        assert result.headers['content-type'] == 'application/problem+json'
    assert client.simulate_post(f'/v1/{other}/docs', json={'a': 1}).status_code == 404
    assert front.request_count == 0


def test_readyz_is_200_against_the_server(client):
    # pouchdb-server has no /_up (404): readiness falls back to GET /.
    assert client.simulate_get('/readyz').status_code == 200
