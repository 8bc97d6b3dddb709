"""Helpers for integration tests: the real app against the real server behind the TLS front."""
from __future__ import annotations

import logging

from falcon import testing

from api.app import create_app
from api.config import Settings
from container import build_injector

TEST_KEY = 'test-key-0123456789abcdef'  # writes need an API key; app_client sends this one by default
TEST_KEYS = f'tests:{TEST_KEY}'
KEY_HEADER = {'Authorization': f'Bearer {TEST_KEY}'}


def app_client(front, ca_bundle: str, *databases: str, **env: str) -> testing.TestClient:
    """A test client of the real app, its upstream the counting TLS front.

    Unless `env` sets API_KEYS itself, the app knows TEST_KEY and every request carries it.
    """
    settings = Settings.from_env(dict({
        'CLOUDANT_URL': front.url,
        'CLOUDANT_CA_BUNDLE': ca_bundle,
        'CLOUDANT_DATABASES': ','.join(databases),
        'API_KEYS': TEST_KEYS,
    }, **env))
    headers = KEY_HEADER if 'API_KEYS' not in env else None
    return testing.TestClient(create_app(build_injector(settings)), headers=headers)


def request_lines(caplog) -> list[dict]:
    """The fields of every request log line captured so far."""
    return [r.fields for r in caplog.records if r.name == 'couchgate.request']


def logged_total(caplog, field: str) -> int:
    return sum(line[field] for line in request_lines(caplog))


def capture_request_lines(caplog) -> None:
    caplog.set_level(logging.INFO, logger='couchgate.request')
