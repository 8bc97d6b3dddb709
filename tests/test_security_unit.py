"""Keys, headers, CORS and body limits through the real app, its Couch port a hand-written fake."""
from __future__ import annotations

import hmac
import io
import json

import pytest
from falcon import testing

from tests.fakes import FakeCouch, fake_app

KEY = 'ci-key-0123456789abcdef'
OTHER_KEY = 'ops-key-0123456789abcdef'
KEYS = f'ci:{KEY},ops:{OTHER_KEY}'
BEARER = {'Authorization': f'Bearer {KEY}'}


@pytest.fixture
def couch():
    fake = FakeCouch('foundbite')
    fake.dbs['foundbite']['d1'] = {'_id': 'd1', '_rev': '1-fake', 'n': 1}
    return fake


def client_for(couch, **env) -> testing.TestClient:
    env = dict({'CLOUDANT_DATABASES': 'foundbite', 'API_KEYS': KEYS}, **env)
    return testing.TestClient(fake_app(couch, **env))


@pytest.fixture
def client(couch):
    return client_for(couch)


def test_writes_without_a_valid_key_get_401_with_a_bearer_challenge(client, couch):
    missing = client.simulate_put('/v1/foundbite/docs/x', json={'a': 1})
    assert missing.status_code == 401 and missing.headers['www-authenticate'] == 'Bearer realm="couchgate"'
    for header in [f'Bearer {KEY}x', f'bearer {KEY[:-1]}', f'Basic {KEY}', 'Bearer', f'Token {KEY}', 'Bearer é']:
        wrong = client.simulate_put('/v1/foundbite/docs/x', json={'a': 1}, headers={'Authorization': header})
        assert wrong.status_code == 401, header
        assert wrong.headers['www-authenticate'] == 'Bearer realm="couchgate", error="invalid_token"'
        assert KEY not in wrong.text
    assert couch.calls == []


def test_each_configured_key_may_write_and_the_scheme_is_case_insensitive(client):
    assert client.simulate_put('/v1/foundbite/docs/a', json={}, headers=BEARER).status_code == 201
    other = {'Authorization': f'bearer {OTHER_KEY}'}
    assert client.simulate_put('/v1/foundbite/docs/b', json={}, headers=other).status_code == 201


def test_without_keys_writes_are_refused_403_and_reads_stay_public(couch):
    client = client_for(couch, API_KEYS='')
    for method in ['PUT', 'DELETE']:
        result = client.simulate_request(method, '/v1/foundbite/docs/d1', json={}, headers=BEARER)
        assert result.status_code == 403 and result.json['type'] == '/problems/writes-disabled'
    assert client.simulate_post('/v1/foundbite/find', json={'selector': {}}).status_code == 403
    assert client.simulate_get('/v1/foundbite/docs/d1').status_code == 200
    assert [call for call, _ in couch.calls] == ['get']


def test_reads_need_a_key_when_configured_but_health_and_docs_never_do(couch):
    client = client_for(couch, API_REQUIRE_KEY_FOR_READS='1')
    assert client.simulate_get('/v1/foundbite/docs/d1').status_code == 401
    assert client.simulate_get('/v1/foundbite/docs', headers=BEARER).status_code == 200
    for path in ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/assets/init.js']:
        assert client.simulate_get(path).status_code == 200, path


def test_public_reads_refuse_a_wrong_key_rather_than_ignore_it(client):
    assert client.simulate_get('/v1/foundbite/docs/d1').status_code == 200
    assert client.simulate_get('/v1/foundbite/docs/d1', headers={'Authorization': 'Bearer nope'}).status_code == 401


def test_a_wrong_method_is_405_and_an_unknown_route_404_before_any_key_check(client):
    assert client.simulate_patch('/v1/foundbite/docs', json={}).status_code == 405
    assert client.simulate_delete('/nope').status_code == 404


def test_the_log_line_names_the_key_and_never_holds_it(client, caplog):
    caplog.set_level('DEBUG')
    client.simulate_put('/v1/foundbite/docs/a', json={}, headers=BEARER)
    client.simulate_get('/v1/foundbite/docs/a')
    lines = [r.fields for r in caplog.records if r.name == 'couchgate.request']
    assert [line['key_name'] for line in lines] == ['ci', None]
    assert KEY not in caplog.text and all(KEY not in json.dumps(r.__dict__, default=str) for r in caplog.records)


def test_every_configured_key_is_compared_with_no_early_exit(client, monkeypatch):
    compared = []

    def counting(a, b):
        compared.append(len(a))
        return hmac.compare_digest(a, b)

    monkeypatch.setattr('api.edge.keys.compare_digest', counting)
    client.simulate_put('/v1/foundbite/docs/a', json={}, headers=BEARER)  # the first of two keys
    client.simulate_put('/v1/foundbite/docs/b', json={}, headers={'Authorization': 'Bearer x'})
    assert compared == [32, 32, 32, 32]  # two keys each time, as fixed-length digests


@pytest.mark.parametrize('method, path, headers, cache_control', [
    ('GET', '/v1/foundbite/docs/d1', {}, 'no-cache'),
    ('GET', '/v1/foundbite/docs', {}, 'no-cache'),
    ('GET', '/v1/foundbite/docs/d1', BEARER, 'no-store'),
    ('GET', '/v1/foundbite/docs/d1', {'If-None-Match': '"1-fake"'}, 'no-cache'),
    ('PUT', '/v1/foundbite/docs/new', BEARER, 'no-store'),
    ('GET', '/v1/foundbite/docs/missing', {}, 'no-store'),
    ('GET', '/healthz', {}, 'no-store'),
    ('GET', '/openapi.json', {}, 'no-cache'),
    ('GET', '/docs', {}, 'public, max-age=3600'),
    ('GET', '/nope', {}, 'no-store'),
])
def test_every_answer_carries_nosniff_a_policy_and_its_cache_control(client, method, path, headers, cache_control):
    result = client.simulate_request(method, path, headers=headers, json={} if method == 'PUT' else None)
    assert result.headers['x-content-type-options'] == 'nosniff'
    assert result.headers['cache-control'] == cache_control
    assert 'content-security-policy' in result.headers
    assert 'server' not in result.headers and 'x-powered-by' not in result.headers


def test_cors_answers_only_the_listed_origins(couch):
    client = client_for(couch, CORS_ALLOW_ORIGINS='https://app.example.com')
    allowed = client.simulate_get('/v1/foundbite/docs/d1', headers={'Origin': 'https://app.example.com'})
    assert allowed.headers['access-control-allow-origin'] == 'https://app.example.com'
    assert 'ETag' in allowed.headers['access-control-expose-headers'] and allowed.headers['vary'] == 'Origin'
    assert 'access-control-allow-credentials' not in allowed.headers
    preflight = client.simulate_options('/v1/foundbite/docs/d1', headers={
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'authorization, content-type, if-match'})
    assert preflight.status_code == 200 and 'PUT' in preflight.headers['access-control-allow-methods']
    assert 'authorization' in preflight.headers['access-control-allow-headers']
    for origin in ['https://evil.example.com', 'https://app.example.com.evil.com', 'null']:
        refused = client.simulate_get('/v1/foundbite/docs/d1', headers={'Origin': origin})
        assert 'access-control-allow-origin' not in refused.headers
    default = client_for(couch).simulate_get('/healthz', headers={'Origin': 'https://app.example.com'})
    assert 'access-control-allow-origin' not in default.headers


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes (None: endless) that counts what the app reads of it."""

    def __init__(self, size: int | None = None) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = len(buffer) if self.size is None else min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b'x' * n
        self.read_bytes += n
        return n


def _call(app, environ) -> tuple[str, bytes]:
    status = []
    body = b''.join(app(environ, lambda s, h, *_: status.append(s)))
    return status[0], body


def test_a_body_over_the_limit_is_refused_before_a_byte_is_read(client):
    stream = CountingStream(100 * 1024 * 1024)
    environ = testing.create_environ(method='PUT', path='/v1/foundbite/docs/big', headers=dict(
        BEARER, **{'Content-Type': 'application/json', 'Content-Length': str(stream.size)}))
    environ['wsgi.input'] = stream
    status, body = _call(client.app, environ)
    assert status.startswith('413') and json.loads(body)['type'] == '/problems/payload-too-large'
    assert stream.read_bytes == 0


def test_a_chunked_body_is_read_to_one_byte_past_the_limit_and_no_further(couch):
    app = client_for(couch, API_MAX_BODY_BYTES='4096').app
    stream = CountingStream(None)
    environ = testing.create_environ(method='PUT', path='/v1/foundbite/docs/big', headers=dict(
        BEARER, **{'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}))
    environ.update({'wsgi.input': stream, 'wsgi.input_terminated': True})
    status, _ = _call(app, environ)
    assert status.startswith('413') and stream.read_bytes == 4097


def test_a_chunked_body_within_the_limit_is_stored(client, couch):
    environ = testing.create_environ(method='PUT', path='/v1/foundbite/docs/chunked', headers=dict(
        BEARER, **{'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}))
    environ.update({'wsgi.input': io.BytesIO(b'{"via": "chunks"}'), 'wsgi.input_terminated': True})
    status, _ = _call(client.app, environ)
    assert status.startswith('201') and couch.dbs['foundbite']['chunked']['via'] == 'chunks'
