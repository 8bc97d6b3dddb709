"""Least-privilege keys: API_KEYS as JSON key objects, scopes, databases and id prefixes, checked
before the Couch port is called (tests/integration/test_key_scopes.py runs the matrix upstream)."""

from __future__ import annotations

import hashlib
import json

import pytest

from api.config import ConfigError, Settings
from tests.support.problems import assert_problem

SECRET = 'secret-key-0123456789abcdef'
READER, TENANT, OLD, NEW = (f'{who}-key-0123456789abcdef' for who in ('reader', 'tenant', 'old', 'new'))
KEYS = json.dumps(
    [
        {'name': 'reader', 'sha256': hashlib.sha256(READER.encode()).hexdigest(), 'scopes': ['read']},
        {'name': 'tenant', 'key': TENANT, 'scopes': ['read', 'write', 'query'], 'id_prefix': 't7:'},
        {
            'name': 'rotating',
            'key': OLD,
            'scopes': ['write', 'read', 'export', 'query'],
            'databases': ['orders'],
        },
        {
            'name': 'rotating',
            'sha256': hashlib.sha256(NEW.encode()).hexdigest(),
            'scopes': ['read', 'query', 'export', 'write'],
            'databases': ['orders'],
        },
    ]
)
pytestmark = pytest.mark.app_env(CLOUDANT_DATABASES='foundbite,orders', API_KEYS=KEYS)


def bearer(key: str) -> dict:
    return {'Authorization': f'Bearer {key}'}


def test_a_key_without_the_scope_gets_403_naming_it_with_an_rfc_6750_challenge(client, couch):
    result = client.simulate_put('/v1/foundbite/docs/x', json={}, headers=bearer(READER))
    body = assert_problem(result, 403, 'insufficient-scope')
    assert '"write"' in body['detail'] and '"reader"' in body['detail'] and READER not in result.text
    assert result.headers['www-authenticate'] == 'Bearer error="insufficient_scope", scope="write"'
    for method, path, scope in [('POST', 'find', 'query'), ('GET', 'export', 'export')]:
        refused = client.simulate_request(
            method, f'/v1/foundbite/{path}', json={'selector': {}}, headers=bearer(READER)
        )
        assert refused.headers['www-authenticate'].endswith(f'scope="{scope}"')
    assert couch.calls == []


def test_a_hashed_key_and_both_keys_of_a_rotated_pair_are_accepted(client):
    assert client.simulate_get('/v1/foundbite/docs/d01', headers=bearer(READER)).status_code == 200
    for key in (OLD, NEW):
        assert (
            client.simulate_put('/v1/orders/docs/a' + key[:3], json={}, headers=bearer(key)).status_code
            == 404
        )
    wrong = client.simulate_get(
        '/v1/foundbite/docs/d01', headers=bearer(hashlib.sha256(READER.encode()).hexdigest())
    )
    assert wrong.status_code == 401  # the digest itself is no key


def test_a_database_outside_the_keys_list_is_the_404_of_an_unknown_database(client, couch):
    outside = client.simulate_get('/v1/foundbite/docs', headers=bearer(OLD))
    unknown = client.simulate_get('/v1/nope/docs', headers=bearer(OLD))
    assert_problem(outside, 404, 'unknown-database')
    assert outside.json['detail'] == unknown.json['detail'] and couch.calls == []


def test_a_prefix_key_sees_404_outside_its_prefix_and_may_not_create_there(client, couch):
    couch.dbs['foundbite']['t7:mine'] = {'_id': 't7:mine', '_rev': '1-fake'}
    assert client.simulate_get('/v1/foundbite/docs/t7%3Amine', headers=bearer(TENANT)).status_code == 200
    assert_problem(client.simulate_get('/v1/foundbite/docs/d01', headers=bearer(TENANT)), 404, 'not-found')
    deleted = client.simulate_delete(
        '/v1/foundbite/docs/d01', headers={**bearer(TENANT), 'If-Match': '"1-fake"'}
    )
    assert_problem(deleted, 404, 'not-found')
    created = client.simulate_put('/v1/foundbite/docs/new', json={}, headers=bearer(TENANT))
    assert_problem(created, 403, 'outside-scope')
    posted = client.simulate_post('/v1/foundbite/docs', json={'_id': 'd99'}, headers=bearer(TENANT))
    assert_problem(posted, 403, 'outside-scope')
    assert [call for call, _ in couch.calls] == ['get']


def test_a_prefix_key_gets_an_id_inside_its_prefix_and_no_total_rows(client, couch):
    posted = client.simulate_post('/v1/foundbite/docs', json={'a': 1}, headers=bearer(TENANT))
    assert posted.status_code == 201 and posted.json['id'].startswith('t7:') and len(posted.json['id']) == 35
    assert couch.calls[-1] == ('put', 'foundbite')
    listed = client.simulate_get('/v1/foundbite/docs', headers=bearer(TENANT)).json
    assert [row['id'] for row in listed['rows']] == [posted.json['id']] and 'total_rows' not in listed


def test_anonymous_clients_read_but_need_a_key_for_anything_else(client):
    assert client.simulate_get('/v1/foundbite/docs/d01').status_code == 200
    for method, path in [('GET', 'export'), ('POST', 'find'), ('POST', 'docs')]:
        result = client.simulate_request(method, f'/v1/foundbite/{path}', json={'selector': {}})
        assert_problem(result, 401, 'unauthorized')
        assert result.headers['www-authenticate'] == 'Bearer realm="couchgate"'


def test_the_openapi_document_names_the_scope_of_every_operation(client):
    paths = client.simulate_get('/openapi.json').json['paths']
    scopes = {
        (path, method): operation['security']
        for path, item in paths.items()
        for method, operation in item.items()
        if path.startswith('/v1/') and method != 'parameters'
    }
    assert scopes == {
        ('/v1/{db}/docs', 'get'): [{}, {'apiKey': ['read']}],
        ('/v1/{db}/docs', 'post'): [{'apiKey': ['write']}],
        ('/v1/{db}/docs/{doc_id}', 'get'): [{}, {'apiKey': ['read']}],
        ('/v1/{db}/docs/{doc_id}', 'put'): [{'apiKey': ['write']}],
        ('/v1/{db}/docs/{doc_id}', 'delete'): [{'apiKey': ['write']}],
        ('/v1/{db}/find', 'post'): [{'apiKey': ['query']}],
        ('/v1/{db}/export', 'get'): [{'apiKey': ['export']}],
        ('/v1/{db}/changes', 'get'): [{}, {'apiKey': ['read']}],
        ('/v1/{db}/views/{ddoc}/{view}', 'get'): [{'apiKey': ['query']}],
        ('/v1/{db}/views/{ddoc}/{view}', 'post'): [{'apiKey': ['query']}],
        ('/v1/{db}/bulk', 'post'): [{'apiKey': ['write']}],
        ('/v1/{db}/lookup', 'post'): [{}, {'apiKey': ['read']}],
    }


# --- API_KEYS as JSON ---------------------------------------------------------------------------


def test_json_keys_keep_digests_scopes_databases_and_prefixes_never_the_keys():
    s = Settings.from_env({'CLOUDANT_DATABASES': 'foundbite,orders', 'API_KEYS': KEYS})
    reader, tenant, old, new = s.api_keys
    assert (reader.name, reader.scopes, reader.databases) == ('reader', {'read'}, None)
    assert tenant.digest == hashlib.sha256(TENANT.encode()).digest() and tenant.id_prefix == 't7:'
    assert old.name == new.name == 'rotating' and new.scopes == {'read', 'query', 'export', 'write'}
    assert old.databases == {'orders'}
    assert not any(key in repr(s) or key in repr(s.api_keys) for key in (TENANT, OLD))


# A second object of one name, differing from the first in one member.
RIVALS: list[tuple[str, dict]] = [
    ('id_prefix', {'id_prefix': 't8:'}),
    ('scopes', {'scopes': ['read', 'write']}),
    ('databases', {'databases': ['foundbite']}),
    ('quota', {'quota': {'reads': 5}}),
]


def obj(**members) -> str:
    return json.dumps([{'name': 'ci', 'key': SECRET, 'scopes': ['read'], **members}])


@pytest.mark.parametrize(
    'raw, message',
    [
        (obj(databases=['orders']), 'key 1 (ci) names a database outside CLOUDANT_DATABASES'),
        (obj(limits={'reads': 20}), 'key 1 (ci) has an unknown member "limits"'),
        (obj(quota={'reads': 0}), 'the "quota" of key 1 (ci)'),
        (obj(quota={'lookups': 20}), 'the "quota" of key 1 (ci)'),
        (obj(quota={'reads': 2.5}), 'the "quota" of key 1 (ci)'),
        (obj(quota=[20]), 'the "quota" of key 1 (ci)'),
        (obj(scopes=['read', 'admin']), 'the "scopes" of key 1 (ci)'),
        (obj(scopes=[]), 'the "scopes" of key 1 (ci)'),
        (json.dumps([{'name': 'ci', 'key': SECRET}]), 'the "scopes" of key 1 (ci)'),
        (obj(sha256='ab' * 32), 'key 1 (ci) needs exactly one of "key" and "sha256"'),
        (json.dumps([{'name': 'ci'}]), 'key 1 (ci) needs exactly one'),
        (
            json.dumps([{'name': 'ci', 'sha256': 'xyz', 'scopes': ['read']}]),
            'the "sha256" of key 1 (ci) must be 64 hex digits',
        ),
        (obj(key='short'), 'key 1 (ci) must be at least 16'),
        (obj(id_prefix='_design/'), 'the "id_prefix" of key 1 (ci)'),
        (obj(id_prefix=''), 'the "id_prefix" of key 1 (ci)'),
        (json.dumps([{'name': 'bad name', 'key': SECRET}]), 'the name of key 1'),
        (json.dumps([{'name': n, 'key': SECRET, 'scopes': ['read']} for n in 'ab']), 'keys must be unique'),
        (
            json.dumps(
                [
                    {'name': 'a', 'key': SECRET, 'scopes': ['read']},
                    {'name': 'b', 'sha256': hashlib.sha256(SECRET.encode()).hexdigest(), 'scopes': ['read']},
                ]
            ),
            'keys must be unique',
        ),
        ('[{"name": "ci", "key": "' + SECRET + '"', 'not a valid JSON array'),
        *[
            (
                json.dumps(
                    [
                        {'name': 'ci', 'key': SECRET, 'scopes': ['read'], 'id_prefix': 't7:'},
                        {'name': 'ci', 'key': SECRET + 'x', 'scopes': ['read'], 'id_prefix': 't7:', **other},
                    ]
                ),
                f'key 2 (ci) shares its name with key 1 but not its "{member}"',
            )
            for member, other in RIVALS
        ],
        ('["' + SECRET + '"]', 'key 1 is not a JSON object'),
    ],
)
def test_a_bad_key_object_stops_start_up_with_one_line_naming_the_key_never_its_value(raw, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({'CLOUDANT_DATABASES': 'foundbite', 'API_KEYS': raw})
    text = str(caught.value)
    assert message in text and text.startswith('API_KEYS') and '\n' not in text
    assert SECRET not in text and 'short' not in text.replace('at least', '')
