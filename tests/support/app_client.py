"""The real app in process, its upstream the real server behind a counting TLS front (or a proxy)."""

from __future__ import annotations

from falcon import testing

from api.app import create_app
from api.config import Settings
from container import build_injector
from tests.support.api_keys import KEY_HEADER, TEST_KEYS


def app_settings(upstream, ca_bundle: str, *databases: str, **env: str) -> Settings:
    """The app's settings for `upstream` (anything with a .url); unless `env` sets API_KEYS, TEST_KEYS."""
    return Settings.from_env(
        dict(
            {
                'CLOUDANT_URL': upstream.url,
                'CLOUDANT_CA_BUNDLE': ca_bundle,
                'CLOUDANT_DATABASES': ','.join(databases),
                'API_KEYS': TEST_KEYS,
            },
            **env,
        )
    )


def app_client(upstream, ca_bundle: str, *databases: str, **env: str) -> testing.TestClient:
    """A test client of the real app, built through container.py with nothing swapped.

    Unless `env` sets API_KEYS itself, the app knows TEST_KEY and every request carries it.
    """
    headers = KEY_HEADER if 'API_KEYS' not in env else None
    injector = build_injector(app_settings(upstream, ca_bundle, *databases, **env))
    return testing.TestClient(create_app(injector), headers=headers)
