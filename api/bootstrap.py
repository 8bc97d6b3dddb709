"""One start for every entry point (wsgi, gunicorn.conf.py, release, demo): settings read once,
one way of failing: a single line naming the variable, then exit 2."""

from __future__ import annotations

import logging
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


def resolve_capacity(settings: Settings) -> str:
    """CLOUDANT_CAPACITY as the workers should read it: `auto` asked of Cloudant (empty if not known)."""
    if not settings.capacity_auto:
        return settings.capacity.describe() if settings.capacity else ''
    # Only here: the composition root and the SDK, for one request before any worker exists.
    from ibmcloudant import CloudantV1

    from api.capacity.cloudant_api import capacity_of
    from container import build_injector

    capacity = capacity_of(build_injector(settings).get(CloudantV1))
    if capacity is None:
        return ''
    logging.getLogger('couchgate.capacity').info(
        'CLOUDANT_CAPACITY=auto: the instance has %s per second', capacity.describe()
    )
    return capacity.describe()
