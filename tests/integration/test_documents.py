"""One document against the real server, through the TLS front: its life, and ids that reach exactly it."""

from urllib.parse import quote

import pytest

from tests.support.problems import assert_problem


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


def test_a_rev_that_never_existed_is_412_for_put_and_delete_while_the_document_exists(client, db):
    base = f'/v1/{db}/docs'
    rev = client.simulate_put(f'{base}/bite', json={'name': 'ramen'}).json['rev']
    never = {'If-Match': '"1-0123456789abcdef0123456789abcdef"'}
    assert_problem(
        client.simulate_put(f'{base}/bite', json={'name': 'x'}, headers=never), 412, 'precondition-failed'
    )
    assert_problem(client.simulate_delete(f'{base}/bite', headers=never), 412, 'precondition-failed')
    assert client.simulate_get(f'{base}/bite').json['_rev'] == rev
    missing = client.simulate_delete(f'{base}/nothing', headers=never)
    assert assert_problem(missing, 404, 'not-found')['detail'] == 'No document with this id.'


def test_rev_in_the_body_is_the_precondition_as_couchdb_clients_send_it(client, db):
    base = f'/v1/{db}/docs'
    rev1 = client.simulate_put(f'{base}/bite', json={'name': 'ramen'}).json['rev']
    updated = client.simulate_put(f'{base}/bite', json={'_rev': rev1, 'name': 'udon'})
    assert updated.status_code == 200 and updated.json['rev'].startswith('2-')
    stale = client.simulate_put(f'{base}/bite', json={'_rev': rev1, 'name': 'soba'})
    assert_problem(stale, 412, 'precondition-failed')
    assert client.simulate_get(f'{base}/bite').json['name'] == 'udon'


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
