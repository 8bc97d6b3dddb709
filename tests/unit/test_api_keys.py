"""API keys: writes need one, reads may; keys are named, compared in constant time and never logged."""

from __future__ import annotations

import hmac
import json

import pytest

from api.config import ConfigError, Settings
from api.config.keys import digest_of
from tests.support.problems import assert_problem
from tests.support.request_log import request_lines

KEY = 'ci-key-0123456789abcdef'
OTHER_KEY = 'ops-key-0123456789abcdef'
BEARER = {'Authorization': f'Bearer {KEY}'}
# API_KEYS named: a request carries a key only where a test sends one.
pytestmark = pytest.mark.app_env(API_KEYS=f'ci:{KEY},ops:{OTHER_KEY}')


def test_writes_without_a_valid_key_get_401_with_a_bearer_challenge(client, couch):
    missing = client.simulate_put('/v1/foundbite/docs/x', json={'a': 1})
    assert missing.status_code == 401 and missing.headers['www-authenticate'] == 'Bearer realm="couchgate"'
    assert 'missing' in missing.json['detail']
    for header in [f'Bearer {KEY}x', f'bearer {KEY[:-1]}', 'Bearer é']:
        wrong = client.simulate_put('/v1/foundbite/docs/x', json={'a': 1}, headers={'Authorization': header})
        assert wrong.status_code == 401, header
        assert wrong.headers['www-authenticate'] == 'Bearer realm="couchgate", error="invalid_token"'
        assert wrong.json['detail'] == 'The API key is not valid.'
        assert KEY not in wrong.text
    empty = client.simulate_put('/v1/foundbite/docs/x', json={'a': 1}, headers={'Authorization': 'Bearer'})
    assert empty.status_code == 401 and 'missing' in empty.json['detail']
    assert couch.calls == []


@pytest.mark.parametrize('header', [f'Basic {KEY}', f'Basic ci:{KEY}', f'Token {KEY}'])
def test_another_scheme_is_told_to_use_bearer_not_that_the_key_is_wrong(client, couch, header):
    result = client.simulate_put('/v1/foundbite/docs/x', json={'a': 1}, headers={'Authorization': header})
    body = assert_problem(result, 401, 'unauthorized')
    assert 'Authorization: Bearer <key>' in body['detail'] and 'not valid' not in body['detail']
    assert result.headers['www-authenticate'] == 'Bearer realm="couchgate"'
    assert KEY not in result.text and couch.calls == []


def test_each_configured_key_may_write_and_the_scheme_is_case_insensitive(client):
    assert client.simulate_put('/v1/foundbite/docs/a', json={}, headers=BEARER).status_code == 201
    other = {'Authorization': f'bearer {OTHER_KEY}'}
    assert client.simulate_put('/v1/foundbite/docs/b', json={}, headers=other).status_code == 201


def test_without_keys_writes_and_queries_are_refused_403_and_reads_stay_public(make_client, couch):
    client = make_client(API_KEYS='')
    for method, path in [('PUT', 'docs/d01'), ('DELETE', 'docs/d01'), ('POST', 'docs'), ('POST', 'find')]:
        result = client.simulate_request(
            method, f'/v1/foundbite/{path}', json={'selector': {}}, headers=BEARER
        )
        body = assert_problem(result, 403, 'no-keys-configured')
        assert 'API_KEYS' in body['detail'] and 'write' not in body['detail']  # a query is no write
    assert client.simulate_get('/v1/foundbite/docs/d01').status_code == 200
    assert [call for call, _ in couch.calls] == ['get']


def test_reads_need_a_key_when_configured_but_health_and_docs_never_do(make_client):
    client = make_client(API_REQUIRE_KEY_FOR_READS='1')
    assert client.simulate_get('/v1/foundbite/docs/d01').status_code == 401
    assert client.simulate_get('/v1/foundbite/docs', headers=BEARER).status_code == 200
    for path in ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/assets/init.js']:
        assert client.simulate_get(path).status_code == 200, path


def test_public_reads_refuse_a_wrong_key_rather_than_ignore_it(client):
    assert client.simulate_get('/v1/foundbite/docs/d01').status_code == 200
    assert (
        client.simulate_get('/v1/foundbite/docs/d01', headers={'Authorization': 'Bearer nope'}).status_code
        == 401
    )


def test_a_wrong_method_is_405_and_an_unknown_route_404_before_any_key_check(client):
    assert client.simulate_patch('/v1/foundbite/docs', json={}).status_code == 405
    assert client.simulate_delete('/nope').status_code == 404


def test_the_log_line_names_the_key_and_never_holds_it(client, caplog):
    caplog.set_level('DEBUG')
    client.simulate_put('/v1/foundbite/docs/a', json={}, headers=BEARER)
    client.simulate_get('/v1/foundbite/docs/a')
    assert [line['key_name'] for line in request_lines(caplog)] == ['ci', None]
    assert KEY not in caplog.text and all(
        KEY not in json.dumps(r.__dict__, default=str) for r in caplog.records
    )


def test_every_configured_key_is_compared_with_no_early_exit(client, monkeypatch):
    compared = []

    def counting(a, b):
        compared.append(len(a))
        return hmac.compare_digest(a, b)

    monkeypatch.setattr('api.edge.keys.compare_digest', counting)
    client.simulate_put('/v1/foundbite/docs/a', json={}, headers=BEARER)  # the first of two keys
    client.simulate_put('/v1/foundbite/docs/b', json={}, headers={'Authorization': 'Bearer x'})
    assert compared == [32, 32, 32, 32]  # two keys each time, as fixed-length digests


# --- API_KEYS and API_REQUIRE_KEY_FOR_READS -----------------------------------------------------

SECRET = 'k' * 16


def test_keys_carry_names_and_bare_keys_are_numbered():
    s = Settings.from_env({'API_KEYS': f' ci:{SECRET}1 , {SECRET}2,ops.team-1:{SECRET}/+=~_.-3 '})
    keys = [f'{SECRET}1', f'{SECRET}2', f'{SECRET}/+=~_.-3']
    assert [(k.name, k.digest) for k in s.api_keys] == [
        ('ci', digest_of(keys[0])),
        ('key-2', digest_of(keys[1])),
        ('ops.team-1', digest_of(keys[2])),
    ]
    assert all(k.scopes == {'read', 'query', 'export', 'write'} and k.databases is None for k in s.api_keys)
    assert SECRET not in repr(s) and SECRET not in repr(s.api_keys)


@pytest.mark.parametrize(
    'raw, message',
    [
        ('ci:short-secret', 'key 1 (ci) must be at least 16'),
        (f'ci:{SECRET}, ci:{SECRET}x', 'unique'),
        (f'a:{SECRET},b:{SECRET}', 'unique'),
        (f'bad name:{SECRET}', 'the name of key 1'),
        (f'ci:{SECRET} with space', 'key 1'),
        (f'ci:{SECRET}é', 'key 1'),
        (f'ci:x:{SECRET}', 'key 1'),
    ],
)
def test_bad_keys_stop_start_up_naming_the_entry_never_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({'API_KEYS': raw})
    assert message in str(caught.value) and 'API_KEYS' in str(caught.value)
    assert SECRET not in str(caught.value) and 'short-secret' not in str(caught.value)


def test_reads_behind_a_key_need_keys_and_a_clear_boolean():
    locked = Settings.from_env({'API_KEYS': f'ci:{SECRET}', 'API_REQUIRE_KEY_FOR_READS': 'true'})
    assert locked.require_key_for_reads
    assert not Settings.from_env({'API_REQUIRE_KEY_FOR_READS': '0'}).require_key_for_reads
    with pytest.raises(ConfigError, match='API_REQUIRE_KEY_FOR_READS needs API_KEYS'):
        Settings.from_env({'API_REQUIRE_KEY_FOR_READS': '1'})
    with pytest.raises(ConfigError, match='API_REQUIRE_KEY_FOR_READS must be 1 or 0'):
        Settings.from_env({'API_KEYS': f'ci:{SECRET}', 'API_REQUIRE_KEY_FOR_READS': 'sometimes'})
