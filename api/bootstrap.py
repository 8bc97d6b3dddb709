"""One start for every entry point (wsgi, gunicorn.conf.py, release, demo): settings read once,
one way of failing: a single line naming the variable, then exit 2."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from api.config import ConfigError, Settings


def settings_or_exit(program: str, env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment, or `<program>: configuration error: ...` and exit 2."""
    try:
        return Settings.from_env(env)
    except ConfigError as e:
        print(f'{program}: configuration error: {e}', file=sys.stderr, flush=True)
        raise SystemExit(2) from None
