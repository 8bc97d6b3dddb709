"""No secret reaches a log line or a response, at LOG_LEVEL=DEBUG, under gunicorn as in production.

couchgate runs with known secret values (the upstream password, in CLOUDANT_URL's userinfo too,
its session cookie, an IAM API key and the tokens IAM hands out, the API keys, a client's
cookie and a key sent in a query string), serves a mix of good and bad requests, and then
everything gunicorn, the app and every library printed, and every response, is searched for
each secret in every form it could take.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, quote

import jwt
import pytest
import requests

from tests.support.fake_iam import send_json
from tests.support.gunicorn_process import WebProcess
from tests.support.pouch import CouchAdmin, PouchServer
from tests.support.tls_front import TLSFront

USER, PASSWORD = 'alice', 'pw:S3cret/Upstream@1'
API_KEY, OTHER_API_KEY = 'secret-api-key-7f3a9c1e5b', 'secret-ops-key-2d8e6b4a0c'
TENANT_KEY = 'secret-tenant-key-6c1f0a9e'
# API_KEYS as JSON: a plaintext key, one given only by its sha256, a prefix key without `query`.
OTHER_SHA256 = hashlib.sha256(OTHER_API_KEY.encode()).hexdigest()
API_KEYS = json.dumps(
    [
        {'name': 'ci', 'key': API_KEY, 'scopes': ['read', 'query', 'export', 'write']},
        {'name': 'ops', 'sha256': OTHER_SHA256, 'scopes': ['read']},
        {'name': 'tenant', 'key': TENANT_KEY, 'scopes': ['read', 'write'], 'id_prefix': 't7:'},
    ]
)
WRONG_KEY, CLIENT_COOKIE, QUERY_KEY = (
    'secret-wrong-key-9b1d',
    'secret-client-cookie-4c2e',
    'secret-in-query-8a6f',
)
IAM_APIKEY, IAM_REFRESH = 'secret-iam-apikey-3e7b', 'secret-iam-refresh-5f9d'
IAM_TOKEN = jwt.encode(
    {'iat': int(time.time()), 'exp': int(time.time()) + 3600, 'sub': 'secret-iam-subject'},
    'secret-iam-signing-key-of-32-bytes!',
    algorithm='HS256',
)


def forms(secret: str) -> set[str]:
    """The secret as it could appear: raw, percent-encoded, base64 (alone and as user:secret), in JSON."""
    b64 = base64.b64encode(secret.encode()).decode()
    return {
        secret,
        quote(secret, safe=''),
        b64.rstrip('='),
        json.dumps(secret)[1:-1],
        base64.b64encode(f'{USER}:{secret}'.encode()).decode().rstrip('='),
    }


SECRETS = {
    PASSWORD,
    API_KEY,
    OTHER_API_KEY,
    TENANT_KEY,
    WRONG_KEY,
    CLIENT_COOKIE,
    QUERY_KEY,
    IAM_APIKEY,
    IAM_REFRESH,
    IAM_TOKEN,
}
# Basic credentials and CouchDB's AuthSession cookie both start with base64("alice:").
# The sha256 of a key is no secret, yet it has no business in a log line or a response either.
MARKERS = {base64.b64encode(f'{USER}:'.encode()).decode(), 'AuthSession', 'secret-iam-subject', OTHER_SHA256}


class FakeIAM(BaseHTTPRequestHandler):
    """IBM Cloud IAM's token endpoint: an API key in, a (JWT) access token and a refresh token out."""

    apikeys_seen: ClassVar[list[str]] = []

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers['Content-Length'])).decode())
        FakeIAM.apikeys_seen.append(form.get('apikey', [''])[0])
        send_json(
            self,
            200,
            {
                'access_token': IAM_TOKEN,
                'refresh_token': IAM_REFRESH,
                'token_type': 'Bearer',
                'expires_in': 3600,
                'expiration': int(time.time()) + 3600,
            },
        )

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def upstream(tmp_path_factory, server_ssl_context):
    """A server of its own with a real user (alice) and her database, behind a TLS front."""
    with (
        PouchServer(tmp_path_factory.mktemp('pouch-secrets')) as pouch,
        TLSFront(('127.0.0.1', pouch.port), server_ssl_context) as front,
    ):
        admin = CouchAdmin(pouch.url)
        user = {'name': USER, 'password': PASSWORD, 'roles': [], 'type': 'user'}
        assert admin.put(f'_users/org.couchdb.user:{USER}', json=user).status_code == 201
        assert admin.put('vault').status_code == 201
        admin.close()
        yield front


@pytest.fixture(scope='module')
def iam():
    server = ThreadingHTTPServer(('127.0.0.1', 0), FakeIAM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def exercise(url: str) -> list[requests.Response]:
    """Good and bad requests, with secrets in the places clients put them."""
    key = {'Authorization': f'Bearer {API_KEY}'}
    doc = f'{url}/v1/vault/docs/secret-test'
    with requests.Session() as http:
        http.trust_env = False
        sent = [
            http.get(f'{url}/readyz'),
            http.put(doc, json={'a': 1}, headers=key),
            http.get(doc, cookies={'session': CLIENT_COOKIE}),
            http.get(f'{url}/v1/vault/docs', params={'api_key': QUERY_KEY, 'include_docs': 'true'}),
            http.put(doc, json={'a': 2}, headers={'Authorization': f'Bearer {WRONG_KEY}'}),
            http.put(doc, data=b'{"a": ', headers=dict(key, **{'Content-Type': 'application/json'})),
            http.post(f'{url}/v1/vault/find', json={'selector': {'a': {'$bad': 1}}}, headers=key),
            http.get(f'{url}/v1/vault/docs/missing', headers=key),
            http.get(f'{url}/v1/_users/docs/org.couchdb.user:{USER}'),
            http.get(f'{url}/v1/vault/docs', headers={'Authorization': f'Bearer {OTHER_API_KEY}'}),
            http.post(
                f'{url}/v1/vault/find',
                json={'selector': {}},
                headers={'Authorization': f'Bearer {TENANT_KEY}'},
            ),
            http.put(f'{url}/v1/vault/docs/x', json={}, headers={'Authorization': f'Bearer {TENANT_KEY}'}),
        ]
        rev = sent[1].json().get('rev')
        sent.append(http.delete(doc, headers=dict(key, **{'If-Match': f'"{rev}"'})))
    return sent


@pytest.mark.parametrize('auth', ['BASIC', 'COUCHDB_SESSION', 'IAM'])
def test_no_secret_reaches_logs_or_responses_at_debug(auth, upstream, iam, ca_bundle, capsys):
    host = upstream.url.removeprefix('https://')
    env = {
        'WEB_CONCURRENCY': '1',
        'GUNICORN_THREADS': '2',
        'LOG_LEVEL': 'DEBUG',
        'CLOUDANT_DATABASES': 'vault',
        'CLOUDANT_CA_BUNDLE': ca_bundle,
        'API_KEYS': API_KEYS,
        'CLOUDANT_AUTH_TYPE': auth,
    }
    if auth == 'IAM':
        env.update(CLOUDANT_URL=upstream.url, CLOUDANT_APIKEY=IAM_APIKEY, CLOUDANT_IAM_URL=iam)
    else:  # the credentials come in CLOUDANT_URL's userinfo, percent-encoded as a URL needs them
        env.update(CLOUDANT_URL=f'https://{USER}:{quote(PASSWORD, safe="")}@{host}')
    with WebProcess(**env) as server:
        server.wait_ready('/healthz')
        responses = exercise(server.url)
    output = server.output()

    everything = output + ''.join(f'{r.status_code} {dict(r.headers)} {r.text}' for r in responses)
    leaks = sorted(
        {f for s in SECRETS for f in forms(s) if f in everything} | {m for m in MARKERS if m in everything}
    )
    with capsys.disabled():
        print(
            f'\n{auth}: {len(output.splitlines())} lines of output and {len(responses)} responses scanned '
            f'for {len(SECRETS)} secrets in {sum(len(forms(s)) for s in SECRETS) + len(MARKERS)} forms: '
            f'{len(leaks)} found'
        )
    assert leaks == []

    statuses = [r.status_code for r in responses]
    assert statuses == [200, 201, 200, 200, 401, 400, 400, 404, 404, 200, 403, 403, 204], statuses
    # The run really was at DEBUG, through the upstream, with the credentials in use.
    assert 'Starting new HTTPS connection' in output and '"logger": "couchgate.upstream"' in output
    assert output.count('"key_name": "ci"') == 5
    assert output.count('"key_name": "ops"') == 1 and output.count('"key_name": "tenant"') == 2
    # The IBM SDK at DEBUG turns on http.client's dump of every exchange (it redacts Authorization,
    # but not the documents, nor every header): api/observability/logs.py keeps it at INFO.
    assert "send: b'" not in output and "reply: '" not in output
    if auth == 'IAM':
        assert IAM_APIKEY in FakeIAM.apikeys_seen
