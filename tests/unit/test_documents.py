"""One document: GET with its ETag, PUT and DELETE guarded by If-Match, POST to create."""

import pytest

from tests.support.fakes import FakeCouch
from tests.support.problems import assert_problem


def test_get_document_with_etag_and_304(client):
    result = client.simulate_get('/v1/foundbite/docs/d01')
    assert result.status_code == 200
    assert result.json == {'_id': 'd01', '_rev': '1-fake', 'n': 1}
    assert result.headers['etag'] == '"1-fake"'
    cached = client.simulate_get('/v1/foundbite/docs/d01', headers={'If-None-Match': '"1-fake"'})
    assert cached.status_code == 304 and cached.text == ''
    stale = client.simulate_get('/v1/foundbite/docs/d01', headers={'If-None-Match': '"0-old"'})
    assert stale.status_code == 200


def test_get_missing_document_is_404(client):
    assert_problem(client.simulate_get('/v1/foundbite/docs/nope'), 404, 'not-found')


def test_responses_keep_unicode_and_numbers_exact_even_beyond_64_bits(make_client):
    couch = FakeCouch('foundbite')
    doc = {'_id': 'd1', '_rev': '1-x', 'name': 'crème brûlée ☕', 'big': 2**70, 'ratio': 0.1, 'n': -3}
    couch.dbs['foundbite']['d1'] = doc
    result = make_client(couch).simulate_get('/v1/foundbite/docs/d1')
    assert result.status_code == 200
    assert result.headers['content-type'] == 'application/json'
    assert result.json == doc
    assert '1180591620717411303424' in result.text  # 2**70 written as an integer, not a float


def test_put_creates_then_requires_if_match(client):
    created = client.simulate_put('/v1/foundbite/docs/new', json={'a': 1})
    assert created.status_code == 201 and created.headers['etag'] == '"1-fake"'
    assert created.json == {'id': 'new', 'rev': '1-fake'}
    assert_problem(client.simulate_put('/v1/foundbite/docs/new', json={'a': 2}), 428, 'precondition-required')
    updated = client.simulate_put('/v1/foundbite/docs/new', json={'a': 2}, headers={'If-Match': '"1-fake"'})
    assert updated.status_code == 200 and updated.headers['etag'] == '"2-fake"'
    stale = client.simulate_put('/v1/foundbite/docs/new', json={'a': 3}, headers={'If-Match': '"1-fake"'})
    assert_problem(stale, 412, 'precondition-failed')


@pytest.mark.parametrize(
    'body, problem_type',
    [
        ({'_id': 'other'}, 'id-mismatch'),
        ({'_rev': 'not a rev'}, 'invalid-rev'),
        ({'_deleted': True}, 'reserved-field'),
        ([1, 2], 'invalid-body'),
        ('text', 'invalid-body'),
    ],
)
def test_put_rejects_bad_bodies(client, couch, body, problem_type):
    assert_problem(client.simulate_put('/v1/foundbite/docs/x', json=body), 400, problem_type)
    assert couch.calls == []


def test_put_rejects_malformed_json(client):
    result = client.simulate_put('/v1/foundbite/docs/x', body='{"a":', content_type='application/json')
    assert_problem(result, 400, 'invalid-json')


def test_put_accepts_matching_id_and_rev_in_body(client):
    result = client.simulate_put(
        '/v1/foundbite/docs/d03',
        json={'_id': 'd03', '_rev': '1-fake', 'n': 33},
        headers={'If-Match': '"1-fake"'},
    )
    assert result.status_code == 200


def test_rev_in_the_body_is_the_precondition_when_if_match_is_absent(client, couch):
    updated = client.simulate_put('/v1/foundbite/docs/d04', json={'_rev': '1-fake', 'n': 44})
    assert updated.status_code == 200 and updated.headers['etag'] == '"2-fake"'
    stale = client.simulate_put('/v1/foundbite/docs/d04', json={'_rev': '1-fake', 'n': 45})
    body = assert_problem(stale, 412, 'precondition-failed')
    assert '"_rev"' in body['detail'] and 'If-Match' not in body['detail']
    both = client.simulate_put(
        '/v1/foundbite/docs/d04', json={'_rev': '2-fake', 'n': 46}, headers={'If-Match': '"1-fake"'}
    )
    assert_problem(both, 400, 'rev-mismatch')
    assert couch.dbs['foundbite']['d04']['n'] == 44


def test_delete_requires_current_rev(client):
    assert_problem(client.simulate_delete('/v1/foundbite/docs/d02'), 428, 'precondition-required')
    stale = client.simulate_delete('/v1/foundbite/docs/d02', headers={'If-Match': '"0-old"'})
    assert_problem(stale, 412, 'precondition-failed')
    assert (
        client.simulate_delete('/v1/foundbite/docs/d02', headers={'If-Match': '"1-fake"'}).status_code == 204
    )
    missing = client.simulate_delete('/v1/foundbite/docs/d02', headers={'If-Match': '"1-fake"'})
    assert_problem(missing, 404, 'not-found')


def test_post_creates_with_server_or_given_id(client):
    result = client.simulate_post('/v1/foundbite/docs', json={'a': 1})
    assert result.status_code == 201
    assert result.headers['location'] == f'/v1/foundbite/docs/{result.json["id"]}'
    assert result.headers['etag'] == f'"{result.json["rev"]}"'
    given = client.simulate_post('/v1/foundbite/docs', json={'_id': 'a/b', 'a': 1})
    assert given.headers['location'] == '/v1/foundbite/docs/a%2Fb'
    assert_problem(client.simulate_post('/v1/foundbite/docs', json={'_id': 'a/b'}), 409, 'conflict')
    assert_problem(
        client.simulate_post('/v1/foundbite/docs', json={'_id': '_design/x'}), 400, 'invalid-document-id'
    )


@pytest.mark.parametrize(
    'method, path',
    [
        ('GET', '/v1/foundbite/docs/_design'),
        ('PUT', '/v1/foundbite/docs/_local'),
        ('DELETE', '/v1/foundbite/docs/_all_docs'),
    ],
)
def test_underscore_ids_are_400_on_every_route(client, couch, method, path):
    result = client.simulate_request(method, path, json={}, headers={'If-Match': '"1-x"'})
    assert_problem(result, 400, 'invalid-document-id')
    assert couch.calls == []
