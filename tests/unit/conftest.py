"""The unit tests' app: the real one, built through container.py, its Couch port a hand-written fake.

`client` is that app with the database `foundbite` and the test key: every request carries the key
unless the settings name API_KEYS themselves. A module or test changes the settings with
`@pytest.mark.app_env(NAME='value', ...)`, or builds more apps with `make_client(fake=None, **env)`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from falcon import testing

from tests.support.api_keys import KEY_HEADER, TEST_KEYS
from tests.support.fakes import FakeCouch, fake_app

# The repository's design/ (the demo's views), wherever pytest runs from.
DESIGN = str(Path(__file__).resolve().parents[2] / 'design')
DEFAULT_ENV = {'CLOUDANT_DATABASES': 'foundbite', 'API_KEYS': TEST_KEYS, 'DESIGN_DIR': DESIGN}


@pytest.fixture
def couch() -> FakeCouch:
    """The fake behind `client`: foundbite holds d00 … d29 (rev 1-fake, n = 0 … 29)."""
    fake = FakeCouch('foundbite')
    fake.dbs['foundbite'].update(
        {f'd{i:02d}': {'_id': f'd{i:02d}', '_rev': '1-fake', 'n': i} for i in range(30)}
    )
    return fake


@pytest.fixture
def make_client(app_env, couch):
    """make_client(fake=None, **env) -> a TestClient of the real app over `fake` (default: the
    `couch` fixture), its settings DEFAULT_ENV, then the app_env markers', then `env`: nothing
    of the process's environment."""

    def make(fake: FakeCouch | None = None, **env: str) -> testing.TestClient:
        env = dict(app_env, **env)
        headers = KEY_HEADER if 'API_KEYS' not in env else None
        app = fake_app(couch if fake is None else fake, **dict(DEFAULT_ENV, **env))
        return testing.TestClient(app, headers=headers)

    return make


@pytest.fixture
def client(make_client) -> testing.TestClient:
    return make_client()
