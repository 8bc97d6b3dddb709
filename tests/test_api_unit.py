"""The API contract, through the real app with the Couch port swapped for a fake."""
import pytest
from falcon import testing

from tests.integration import KEY_HEADER, TEST_KEYS
from tests.fakes import ExplodingCouch, FakeCouch, fake_app


@pytest.fixture
def couch():
    fake = FakeCouch('foundbite')
    fake.dbs['foundbite'].update({f'd{i:02d}': {'_id': f'd{i:02d}', '_rev': '1-fake', 'n': i} for i in range(30)})
    return fake


def _client(couch):
    return testing.TestClient(fake_app(couch, CLOUDANT_DATABASES='foundbite', API_KEYS=TEST_KEYS),
                              headers=KEY_HEADER)


@pytest.fixture
def client(couch):
    return _client(couch)


def assert_problem(result, status, problem_type):
    assert result.status_code == status, result.text
    assert result.headers['content-type'] == 'application/problem+json'
    body = result.json
    assert body['type'] == f'/problems/{problem_type}'
    assert body['status'] == status
    assert body['title'] and body['detail']
    assert body['request_id'] == result.headers['x-request-id']


def test_healthz_answers_without_upstream_call(client, couch):
    result = client.simulate_get('/healthz')
    assert result.status_code == 200 and result.json == {'status': 'ok'}
    assert couch.calls == []


def test_readyz_is_200_when_upstream_answers_and_503_when_not(client, couch):
    assert client.simulate_get('/readyz').status_code == 200
    couch.unavailable = True
    result = client.simulate_get('/readyz')
    assert_problem(result, 503, 'upstream-unavailable')
    assert result.headers['retry-after'] == '1'


def test_list_defaults_to_25_rows_with_next_link(client):
    result = client.simulate_get('/v1/foundbite/docs')
    assert result.status_code == 200
    assert [r['id'] for r in result.json['rows']] == [f'd{i:02d}' for i in range(25)]
    assert result.json['total_rows'] == 30
    assert result.json['next'] == '/v1/foundbite/docs?start_key=d25&limit=25'
    assert result.headers['link'] == '</v1/foundbite/docs?start_key=d25&limit=25>; rel=next'


def test_following_next_reaches_the_last_page_without_next(client):
    last = client.simulate_get('/v1/foundbite/docs?start_key=d25&limit=25')
    assert [r['id'] for r in last.json['rows']] == ['d25', 'd26', 'd27', 'd28', 'd29']
    assert 'next' not in last.json and 'link' not in last.headers


def test_list_passes_keys_docs_and_order(client):
    result = client.simulate_get('/v1/foundbite/docs',
                                 params={'limit': 2, 'start_key': 'd10', 'end_key': 'd05',
                                         'include_docs': 'true', 'descending': 'true'})
    assert [r['id'] for r in result.json['rows']] == ['d10', 'd09']
    assert result.json['rows'][0]['doc']['n'] == 10
    assert result.json['next'] == ('/v1/foundbite/docs?start_key=d08&end_key=d05'
                                   '&include_docs=true&descending=true&limit=2')


@pytest.mark.parametrize('query', ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1',
                                   'include_docs=maybe', 'descending=2'])
def test_list_rejects_bad_parameters_naming_them(client, couch, query):
    result = client.simulate_get('/v1/foundbite/docs', query_string=query)
    assert_problem(result, 400, 'invalid-parameter')
    assert query.split('=')[0] in result.json['detail']
    assert couch.calls == []


@pytest.mark.parametrize('limit', ['1', '1000'])
def test_list_accepts_limit_bounds(client, limit):
    assert client.simulate_get('/v1/foundbite/docs', params={'limit': limit}).status_code == 200


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


def test_put_creates_then_requires_if_match(client):
    created = client.simulate_put('/v1/foundbite/docs/new', json={'a': 1})
    assert created.status_code == 201 and created.headers['etag'] == '"1-fake"'
    assert created.json == {'id': 'new', 'rev': '1-fake'}
    assert_problem(client.simulate_put('/v1/foundbite/docs/new', json={'a': 2}), 428, 'precondition-required')
    updated = client.simulate_put('/v1/foundbite/docs/new', json={'a': 2}, headers={'If-Match': '"1-fake"'})
    assert updated.status_code == 200 and updated.headers['etag'] == '"2-fake"'
    stale = client.simulate_put('/v1/foundbite/docs/new', json={'a': 3}, headers={'If-Match': '"1-fake"'})
    assert_problem(stale, 412, 'precondition-failed')


@pytest.mark.parametrize('body, problem_type', [
    ({'_id': 'other'}, 'id-mismatch'),
    ({'_rev': '9-x'}, 'rev-mismatch'),
    ({'_deleted': True}, 'reserved-field'),
    ([1, 2], 'invalid-body'),
    ('text', 'invalid-body'),
])
def test_put_rejects_bad_bodies(client, couch, body, problem_type):
    assert_problem(client.simulate_put('/v1/foundbite/docs/x', json=body), 400, problem_type)
    assert couch.calls == []


def test_put_rejects_malformed_json(client):
    result = client.simulate_put('/v1/foundbite/docs/x', body='{"a":', content_type='application/json')
    assert_problem(result, 400, 'invalid-json')


def test_put_accepts_matching_id_and_rev_in_body(client):
    result = client.simulate_put('/v1/foundbite/docs/d03', json={'_id': 'd03', '_rev': '1-fake', 'n': 33},
                                 headers={'If-Match': '"1-fake"'})
    assert result.status_code == 200


def test_delete_requires_current_rev(client):
    assert_problem(client.simulate_delete('/v1/foundbite/docs/d02'), 428, 'precondition-required')
    stale = client.simulate_delete('/v1/foundbite/docs/d02', headers={'If-Match': '"0-old"'})
    assert_problem(stale, 412, 'precondition-failed')
    assert client.simulate_delete('/v1/foundbite/docs/d02', headers={'If-Match': '"1-fake"'}).status_code == 204
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
    assert_problem(client.simulate_post('/v1/foundbite/docs', json={'_id': '_design/x'}),
                   400, 'invalid-document-id')


def test_find_returns_docs_and_bookmark(client):
    result = client.simulate_post('/v1/foundbite/find', json={'selector': {'n': 3}, 'limit': 5})
    assert result.status_code == 200
    assert result.json == {'docs': [{'_id': 'd03', '_rev': '1-fake', 'n': 3}], 'bookmark': 'nil'}


@pytest.mark.parametrize('body, field', [
    ({}, 'selector'), ({'selector': 'x'}, 'selector'), ({'selector': {}, 'limit': 1001}, 'limit'),
    ({'selector': {}, 'limit': 0}, 'limit'), ({'selector': {}, 'limit': True}, 'limit'),
    ({'selector': {}, 'fields': 'a'}, 'fields'), ({'selector': {}, 'sort': {}}, 'sort'),
    ({'selector': {}, 'bookmark': 1}, 'bookmark'), ({'selector': {}, 'skip': 1}, 'skip'),
])
def test_find_validates_the_query_naming_the_field(client, couch, body, field):
    result = client.simulate_post('/v1/foundbite/find', json=body)
    assert_problem(result, 400, 'invalid-query')
    assert f'"{field}"' in result.json['detail']
    assert couch.calls == []


def test_find_maps_upstream_bad_query_to_400(client):
    assert_problem(client.simulate_post('/v1/foundbite/find', json={'selector': {'$bad': 1}}), 400, 'bad-request')


@pytest.mark.parametrize('method, path', [
    ('GET', '/v1/_users/docs'), ('GET', '/v1/other/docs/x'), ('PUT', '/v1/_replicator/docs/x'),
    ('POST', '/v1/other/find'), ('DELETE', '/v1/other/docs/x'), ('POST', '/v1/_users/docs'),
])
def test_unknown_database_is_404_without_upstream_call(client, couch, method, path):
    result = client.simulate_request(method, path, json={'selector': {}})
    assert_problem(result, 404, 'unknown-database')
    assert couch.calls == []


@pytest.mark.parametrize('method, path', [('GET', '/v1/foundbite/docs/_design'),
                                          ('PUT', '/v1/foundbite/docs/_local'),
                                          ('DELETE', '/v1/foundbite/docs/_all_docs')])
def test_underscore_ids_are_400_on_every_route(client, couch, method, path):
    result = client.simulate_request(method, path, json={}, headers={'If-Match': '"1-x"'})
    assert_problem(result, 400, 'invalid-document-id')
    assert couch.calls == []


def test_unknown_route_is_404_and_wrong_method_405_with_allow(client):
    assert_problem(client.simulate_get('/nope'), 404, 'not-found')
    result = client.simulate_patch('/v1/foundbite/docs')
    assert_problem(result, 405, 'method-not-allowed')
    assert set(result.headers['allow'].replace(' ', '').split(',')) >= {'GET', 'POST'}


def test_unexpected_error_is_a_bare_500_problem(couch):
    exploding = ExplodingCouch('foundbite')
    result = _client(exploding).simulate_get('/v1/foundbite/docs/x')
    assert_problem(result, 500, 'internal-error')
    assert 'secret-internal-detail' not in result.text and 'Traceback' not in result.text


def test_request_id_is_echoed_when_well_formed_else_generated(client):
    assert client.simulate_get('/healthz', headers={'X-Request-ID': 'abc.DEF_1-2'}).headers['x-request-id'] \
        == 'abc.DEF_1-2'
    for bad in ['a b', 'x' * 129, 'id\u00e9', '']:
        generated = client.simulate_get('/healthz', headers={'X-Request-ID': bad}).headers['x-request-id']
        assert generated != bad and len(generated) == 32


def test_every_response_has_server_timing_and_a_log_line(client, caplog):
    caplog.set_level('INFO', logger='couchgate.request')
    result = client.simulate_get('/v1/foundbite/docs/d01?secret=1')
    assert result.headers['server-timing'].startswith('cloudant;dur=')
    assert 'desc="requests=0 new=0 reused=0 discarded=0"' in result.headers['server-timing']
    [record] = [r for r in caplog.records if r.name == 'couchgate.request']
    assert record.fields['path'] == '/v1/foundbite/docs/d01'
    assert record.fields['status'] == 200
    assert record.fields['request_id'] == result.headers['x-request-id']
    assert set(record.fields) >= {'method', 'duration_ms', 'upstream_requests', 'new_connections',
                                  'reused_connections', 'discarded_connections', 'upstream_ms'}
