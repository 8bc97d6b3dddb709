"""Helpers for integration tests: the real app against the real server behind the TLS front."""
from __future__ import annotations

import logging

from falcon import testing

from api.app import create_app
from api.config import Settings
from container import build_injector


def app_client(front, ca_bundle: str, *databases: str, **env: str) -> testing.TestClient:
    """A test client of the real app, its upstream the counting TLS front."""
    settings = Settings.from_env(dict({
        'CLOUDANT_URL': front.url,
        'CLOUDANT_CA_BUNDLE': ca_bundle,
        'CLOUDANT_DATABASES': ','.join(databases),
    }, **env))
    return testing.TestClient(create_app(build_injector(settings)))


def request_lines(caplog) -> list[dict]:
    """The fields of every request log line captured so far."""
    return [r.fields for r in caplog.records if r.name == 'couchgate.request']


def logged_total(caplog, field: str) -> int:
    return sum(line[field] for line in request_lines(caplog))


def capture_request_lines(caplog) -> None:
    caplog.set_level(logging.INFO, logger='couchgate.request')
