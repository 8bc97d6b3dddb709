"""Logins under threads: one POST /_session for 16 threads, one IAM refresh, bounded waits."""

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from falcon import testing
from requests import Session

from api.app import create_app
from container import build_injector
from tests.support.app_client import app_settings
from tests.support.fake_iam import FakeIAM
from tests.support.fault_proxy import FaultProxy
from tests.support.poll import wait_for
from tests.support.pouch import CouchAdmin, PouchServer
from tests.support.problems import assert_problem

FAST = {'CLOUDANT_CONNECT_TIMEOUT': '2', 'CLOUDANT_READ_TIMEOUT': '2'}
BOUND = 10.0
USER, PASSWORD = 'app', 'app-secret-pw'
SESSION = dict(FAST, CLOUDANT_AUTH_TYPE='COUCHDB_SESSION', CLOUDANT_USERNAME=USER, CLOUDANT_PASSWORD=PASSWORD)


@pytest.fixture(scope='module')
def secured(tmp_path_factory):
    """A server of its own with an admin, a `_users` user, and a database only that user may use."""
    with PouchServer(tmp_path_factory.mktemp('secured')) as pouch:
        assert CouchAdmin(pouch.url).put('_config/admins/admin', json='admin-pw').status_code == 200
        admin = CouchAdmin(pouch.url, auth=('admin', 'admin-pw'))
        user = {'name': USER, 'password': PASSWORD, 'roles': [], 'type': 'user'}
        assert admin.put(f'_users/org.couchdb.user:{USER}', json=user).status_code == 201
        assert admin.put('members').status_code == 201
        security = {'members': {'names': [USER], 'roles': []}, 'admins': {'names': [], 'roles': []}}
        assert admin.put('members/_security', json=security).status_code == 200
        assert admin.put('members/a', json={'k': 1}).status_code == 201
        yield pouch, admin


@pytest.fixture
def secured_proxy(secured, server_ssl_context):
    pouch, _ = secured
    with FaultProxy(('127.0.0.1', pouch.port), server_ssl_context) as proxy:
        yield proxy


def expire_every_session(pouch, admin) -> None:
    """A new server secret invalidates every cookie; poll until an old one reads as 401."""
    old = requests.post(f'{pouch.url}/_session', json={'name': USER, 'password': PASSWORD}, timeout=10)
    admin.put('_config/couch_httpd_auth/secret', json=uuid.uuid4().hex)

    def refused():
        return requests.get(f'{pouch.url}/members/a', cookies=old.cookies, timeout=10).status_code == 401

    wait_for(refused, 'the old session to be refused')


def test_sixteen_threads_with_an_expired_session_log_in_once(secured, secured_proxy, make_client, caplog):
    for logger in ('couchgate', 'urllib3'):
        caplog.set_level(logging.DEBUG, logger=logger)
    pouch, admin = secured
    proxy = secured_proxy
    client = make_client('members', upstream=proxy, GUNICORN_THREADS='16', **SESSION)
    assert client.simulate_get('/v1/members/docs/a').status_code == 200
    assert proxy.count('POST', '/_session') == 1
    expire_every_session(pouch, admin)
    proxy.reset()
    login = proxy.hold('POST', '/_session')  # so that all 16 see the 401 before anyone is logged in
    with ThreadPoolExecutor(16) as pool:
        pending = [pool.submit(client.simulate_get, '/v1/members/docs/a') for _ in range(16)]
        wait_for(lambda: proxy.count('GET', '/members/a', 401) == 16, '16 requests refused with 401')
        login.release()
        statuses = [future.result(timeout=BOUND).status_code for future in pending]
    assert statuses == [200] * 16
    assert [r.path for r in proxy.requests if r.method == 'POST'] == ['/_session']
    assert proxy.count('GET', '/members/a', 200) == 16
    assert PASSWORD not in caplog.text
    print(
        f'\nexpired session x 16 threads: 401s {proxy.count("GET", "/members/a", 401)}, '
        f'POST /_session at the server {proxy.count("POST", "/_session")}, then 200s {statuses.count(200)}'
    )


def test_the_shared_session_never_stores_the_servers_cookies(secured_proxy, ca_bundle):
    # Its own client: the test looks into the container for the session.
    injector = build_injector(app_settings(secured_proxy, ca_bundle, 'members', **SESSION))
    client = testing.TestClient(create_app(injector))
    for _ in range(3):  # pouchdb-server sends a fresh AuthSession cookie with every answer
        assert client.simulate_get('/v1/members/docs/a').status_code == 200
    assert len(injector.get(Session).cookies) == 0


def test_a_login_that_hangs_times_out_like_any_upstream_call(secured_proxy, make_client):
    client = make_client('members', upstream=secured_proxy, **SESSION)
    login = secured_proxy.hold('POST', '/_session')
    started = time.monotonic()
    result = client.simulate_get('/v1/members/docs/a')
    assert result.status_code == 504 and time.monotonic() - started < BOUND
    login.release()
    assert client.simulate_get('/v1/members/docs/a').status_code == 200


def test_wrong_credentials_are_a_502_not_a_client_error(secured_proxy, make_client):
    client = make_client('members', upstream=secured_proxy, **dict(SESSION, CLOUDANT_PASSWORD='wrong'))
    result = client.simulate_get('/v1/members/docs/a')
    assert_problem(result, 502, 'upstream-auth')
    assert 'wrong' not in result.text


def iam_env(iam: FakeIAM, apikey: str = 'test-apikey') -> dict[str, str]:
    """The settings of an app that logs in with IAM at the local token endpoint `iam`."""
    return dict(CLOUDANT_AUTH_TYPE='IAM', CLOUDANT_APIKEY=apikey, CLOUDANT_IAM_URL=iam.url, **FAST)


def test_an_iam_endpoint_refusing_the_key_is_a_502_not_a_client_error(proxy, make_client, make_db):
    db = make_db()
    with FakeIAM() as iam:
        iam.refuse(400)
        client = make_client(db, upstream=proxy, **iam_env(iam, apikey='unknown-key'))
        result = client.simulate_get(f'/v1/{db}/docs')
    assert_problem(result, 502, 'upstream-auth')
    assert 'unknown-key' not in result.text
    assert len(proxy.requests) == 0  # nothing went upstream without a token


@pytest.fixture
def db(make_db, couch_admin):
    name = make_db()
    assert couch_admin.put(f'{name}/a', json={'k': 1}).status_code == 201
    return name


def test_an_iam_token_is_refreshed_once_before_it_expires(proxy, make_client, db):
    with FakeIAM() as iam:
        # Issued 3000 s ago, valid 600 s more: past 80 % of its life, so due for refresh, not expired.
        iam.lifetime(age=3000, remaining=600)
        client = make_client(upstream=proxy, GUNICORN_THREADS='16', **iam_env(iam))
        assert client.simulate_get(f'/v1/{db}/docs/a').status_code == 200
        assert len(iam.requests) == 1
        iam.lifetime(age=0, remaining=3600)
        with ThreadPoolExecutor(16) as pool:
            get = lambda _: client.simulate_get(f'/v1/{db}/docs/a').status_code  # noqa: E731
            statuses = list(pool.map(get, range(64)))
    assert statuses == [200] * 64
    first, refresh = iam.requests  # exactly one refresh for 64 requests on 16 threads
    assert first.exp is not None, 'the login got no token'
    assert refresh.at < first.exp
    print(
        f'\nIAM: token requests {len(iam.requests)} (1 login + 1 refresh, {first.exp - refresh.at:.0f} s '
        f'before expiry) for 65 reads on 16 threads'
    )


def test_a_hung_token_endpoint_fails_fast_and_does_not_block_the_next_requests(proxy, make_client, db):
    with FakeIAM() as iam:
        client = make_client(upstream=proxy, GUNICORN_THREADS='8', **iam_env(iam))
        iam.hang()

        def timed_get(_):
            started = time.monotonic()
            return client.simulate_get(f'/v1/{db}/docs/a').status_code, time.monotonic() - started

        with ThreadPoolExecutor(8) as pool:
            hung = list(pool.map(timed_get, range(8)))
        assert {status for status, _ in hung} <= {503, 504}
        assert max(took for _, took in hung) < BOUND
        iam.release()
        # ibm-cloud-sdk-core alone would make this wait up to 60 s after the failed token request.
        status, took = timed_get(None)
    assert status == 200 and took < BOUND
    assert proxy.count('GET', f'/{db}/a') == 1  # nothing went upstream without a token
    slowest = max(t for _, t in hung)
    print(
        f'\nIAM hung: 8 threads answered {sorted(s for s, _ in hung)} within {slowest:.1f} s '
        f'with {len(iam.requests) - 1} token request(s); after release 200 in {took:.1f} s'
    )
