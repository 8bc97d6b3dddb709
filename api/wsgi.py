"""The WSGI entry point gunicorn loads: `api.wsgi:app` (and its `injector`, for the master's hooks)."""
from __future__ import annotations

import sys

from injector import Injector

from api.app import create_app
from api.config import ConfigError, Settings
from api.observability.logs import configure_logging


def _load() -> Injector:
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(f'couchgate: configuration error: {e}', file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    from container import build_injector
    return build_injector(settings)


injector = _load()
app = create_app(injector)
