"""Parsers of configuration values: each checks one value and names the variable when it is bad."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

_BOOLEANS = {
    '1': True,
    'true': True,
    'yes': True,
    'on': True,
    '0': False,
    'false': False,
    'no': False,
    'off': False,
}
_DB_NAME = re.compile(r'^[a-z][a-z0-9_$()+/-]*$')
_ORIGIN = re.compile(r'https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?')


class ConfigError(ValueError):
    """A bad configuration value; the message names the variable, never a secret."""


def url_and_credentials(raw: str) -> tuple[str, str | None, str | None]:
    """Move userinfo out of the URL, so the URL itself is safe to log."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        raise ConfigError('CLOUDANT_URL is not a valid URL') from None
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise ConfigError('CLOUDANT_URL must be an http:// or https:// URL with a host')
    host = f'[{parts.hostname}]' if ':' in parts.hostname else parts.hostname
    netloc = f'{host}:{port}' if port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip('/'), '', ''))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def json_array(raw: str, name: str, of: str) -> list:
    """A variable holding a JSON array of objects (API_KEYS, AUTH_ISSUERS); one line if it is not."""
    try:
        entries = json.loads(raw)
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise ConfigError(f'{name}: not a valid JSON array of {of} objects')
    return entries


# The name of a key or an issuer: what log lines and metrics labels show.
NAME = re.compile(r'[A-Za-z0-9._-]{1,64}')


def checked_name(name: object, variable: str, noun: str, number: int) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f'{variable}: the name of {noun} {number} must be 1-64 of A-Z a-z 0-9 . _ -')
    return name


def named_object(
    entry: object, number: int, variable: str, noun: str, members: frozenset[str]
) -> tuple[dict, str]:
    """An object of a JSON array variable with a valid `name` and known members; and which one it is,
    as messages name it (`key 2 (backend)`), never by a value."""
    if not isinstance(entry, dict):
        raise ConfigError(f'{variable}: {noun} {number} is not a JSON object')
    which = f'{noun} {number} ({checked_name(entry.get("name"), variable, noun, number)})'
    unknown = sorted(set(entry) - members)
    if unknown:
        raise ConfigError(f'{variable}: {which} has an unknown member "{unknown[0]}"')
    return entry, which


def database_names(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(',') if name.strip())
    for name in names:
        if name.startswith('_') or not _DB_NAME.match(name):
            raise ConfigError(f'CLOUDANT_DATABASES: {name!r} is not an allowed database name')
    return names


def origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip('/') for o in raw.split(',') if o.strip())
    if origins == ('*',):
        return origins
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f'CORS_ALLOW_ORIGINS: {origin!r} is not an origin like https://app.example.com'
                ' (or use * alone)'
            )
    return origins


def ca_bundle_path(raw: str | None) -> str | None:
    if not raw:
        return None
    if not os.path.isfile(raw):
        raise ConfigError('CLOUDANT_CA_BUNDLE must name a readable PEM file')
    return raw


def directory(raw: str | None) -> str | None:
    # prometheus_client's multiprocess mode: gunicorn's master creates and empties it.
    if not raw:
        return None
    if os.path.exists(raw) and not os.path.isdir(raw):
        raise ConfigError('PROMETHEUS_MULTIPROC_DIR must name a directory')
    return raw


def integer(
    env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw in (None, ''):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f'{name} must be a whole number') from None
    if value < minimum:
        raise ConfigError(f'{name} must be at least {minimum}')
    if maximum is not None and value > maximum:
        raise ConfigError(f'{name} must be at most {maximum}')
    return value


def seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ''):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f'{name} must be a number of seconds') from None
    if not 0 < value <= 300:
        raise ConfigError(f'{name} must be between 0 and 300 seconds')
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or '').strip().lower()
    if not value:
        return default
    if value not in _BOOLEANS:
        raise ConfigError(f'{name} must be 1 or 0 (or true/false, yes/no, on/off)')
    return _BOOLEANS[value]


def choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).upper()
    if value not in choices:
        raise ConfigError(f'{name} must be one of {", ".join(choices)}')
    return value
