"""The integration tests' app: the real one in process, built through container.py with nothing
swapped, its upstream the real server behind the counting TLS front (or a fault proxy).

`client` is that app over a fresh database (`db`), the test key on every request. A module or test
changes it with `@pytest.mark.app_env(upstream='proxy', NAME='value', ...)`: `upstream` names the
fixture it talks to (default `front`), the rest are settings. `make_client(*databases,
upstream=None, **env)` builds more apps, over `db` unless databases are named.
"""

from __future__ import annotations

import pytest
from falcon import testing

from tests.support.app_client import app_client


@pytest.fixture(autouse=True)
def pouch_survives(request):
    """The test during which the session's pouchdb-server crashed fails naming the crash; it restarts.

    pouchdb-server 4.2.0 dies on a few rare sequences of writes (a TypeError in pouchdb-core's
    bulkDocs); without this, every later test of the session would fail to connect instead.
    """
    yield
    pouch = request.getfixturevalue('pouch') if 'pouch' in request.fixturenames else None
    if pouch is not None and pouch.died:
        tail = pouch.log_tail()
        pouch.restart()
        pytest.fail(f'pouchdb-server crashed during this test; it was restarted. Its log:\n{tail}')


@pytest.fixture
def db(make_db) -> str:
    """A fresh, empty database, deleted at teardown."""
    return make_db()


@pytest.fixture
def make_client(request, app_env, ca_bundle):
    # Fixtures looked up only when used: a test with its own server starts no front, makes no `db`.
    def make(*databases: str, upstream=None, **env: str) -> testing.TestClient:
        env = dict(app_env, **env)
        named = env.pop('upstream', 'front')
        upstream = request.getfixturevalue(named) if upstream is None else upstream
        return app_client(upstream, ca_bundle, *(databases or [request.getfixturevalue('db')]), **env)

    return make


@pytest.fixture
def client(make_client) -> testing.TestClient:
    return make_client()
