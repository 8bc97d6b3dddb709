"""Settings: the only reader of the environment."""
from __future__ import annotations

import dataclasses
import logging
import os
import re
from typing import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

AUTH_TYPES = ('NOAUTH', 'BASIC', 'COUCHDB_SESSION', 'IAM')
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR')
DEFAULT_URL = 'http://127.0.0.1:5984'
_BOOLEANS = {'1': True, 'true': True, 'yes': True, 'on': True,
             '0': False, 'false': False, 'no': False, 'off': False}
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_API_KEY_LENGTH = 16
_DB_NAME = re.compile(r'^[a-z][a-z0-9_$()+/-]*$')
_KEY_NAME = re.compile(r'[A-Za-z0-9._-]{1,64}')
_KEY = re.compile(r'[A-Za-z0-9._~+/=-]+')  # RFC 6750 b64token: fits a Bearer header as is
_ORIGIN = re.compile(r'https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?')


class ConfigError(ValueError):
    """A bad configuration value; the message names the variable, never a secret."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything couchgate reads from its environment, validated."""

    url: str = DEFAULT_URL
    auth_type: str = 'NOAUTH'
    username: str | None = dataclasses.field(default=None, repr=False)
    password: str | None = dataclasses.field(default=None, repr=False)
    apikey: str | None = dataclasses.field(default=None, repr=False)
    iam_url: str | None = None
    ca_bundle: str | None = None
    databases: tuple[str, ...] = ()
    threads: int = 8
    pool_maxsize: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_retries: int = 2
    retry_max_wait: float = 2.0
    log_level: str = 'INFO'
    # What CLOUDANT_POOL_MAXSIZE asked for before pool_maxsize was raised to the threads (None: unset).
    pool_maxsize_requested: int | None = None
    # gunicorn's side: worker processes, listening port, load the app in the master before fork().
    workers: int = 2
    port: int = 8000
    preload_app: bool = False
    api_keys: tuple[tuple[str, str], ...] = dataclasses.field(default=(), repr=False)  # (name, key)
    require_key_for_reads: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_allow_origins: tuple[str, ...] = ()
    export_batch_size: int = 1000
    metrics_dir: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> 'Settings':
        env = os.environ if env is None else env
        url, url_user, url_password = _split_url(env.get('CLOUDANT_URL') or DEFAULT_URL)
        username = env.get('CLOUDANT_USERNAME') or url_user
        password = env.get('CLOUDANT_PASSWORD') or url_password
        apikey = env.get('CLOUDANT_APIKEY') or None
        auth_type = (env.get('CLOUDANT_AUTH_TYPE') or ('BASIC' if username else 'NOAUTH')).upper()
        if auth_type not in AUTH_TYPES:
            raise ConfigError(f'CLOUDANT_AUTH_TYPE must be one of {", ".join(AUTH_TYPES)}')
        if auth_type in ('BASIC', 'COUCHDB_SESSION') and not (username and password is not None):
            raise ConfigError(f'CLOUDANT_AUTH_TYPE={auth_type} needs CLOUDANT_USERNAME and CLOUDANT_PASSWORD')
        if auth_type == 'IAM' and not apikey:
            raise ConfigError('CLOUDANT_AUTH_TYPE=IAM needs CLOUDANT_APIKEY')
        threads = _int(env, 'GUNICORN_THREADS', 8, minimum=1)
        pool_maxsize = _int(env, 'CLOUDANT_POOL_MAXSIZE', threads, minimum=1)
        api_keys = _api_keys(env.get('API_KEYS', ''))
        require_key_for_reads = _bool(env, 'API_REQUIRE_KEY_FOR_READS', False)
        if require_key_for_reads and not api_keys:
            raise ConfigError('API_REQUIRE_KEY_FOR_READS needs API_KEYS')
        return cls(
            url=url,
            auth_type=auth_type,
            username=username,
            password=password,
            apikey=apikey,
            iam_url=env.get('CLOUDANT_IAM_URL') or None,
            ca_bundle=_ca_bundle(env.get('CLOUDANT_CA_BUNDLE')),
            databases=_databases(env.get('CLOUDANT_DATABASES', '')),
            threads=threads,
            # Fewer pooled connections than threads means churn: never size below the threads.
            pool_maxsize=max(pool_maxsize, threads),
            connect_timeout=_float(env, 'CLOUDANT_CONNECT_TIMEOUT', 5.0),
            read_timeout=_float(env, 'CLOUDANT_READ_TIMEOUT', 20.0),
            max_retries=_int(env, 'CLOUDANT_MAX_RETRIES', 2, minimum=0, maximum=10),
            retry_max_wait=_float(env, 'CLOUDANT_RETRY_MAX_WAIT', 2.0),
            log_level=_choice(env, 'LOG_LEVEL', 'INFO', LOG_LEVELS),
            pool_maxsize_requested=pool_maxsize if env.get('CLOUDANT_POOL_MAXSIZE') else None,
            workers=_int(env, 'WEB_CONCURRENCY', 2, minimum=1),
            port=_int(env, 'PORT', 8000, minimum=1, maximum=65535),
            preload_app=_bool(env, 'PRELOAD_APP', False),
            api_keys=api_keys,
            require_key_for_reads=require_key_for_reads,
            max_body_bytes=_int(env, 'API_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, minimum=1024),
            cors_allow_origins=_origins(env.get('CORS_ALLOW_ORIGINS', '')),
            # One batch is held in memory while it streams out: bounded, so memory stays flat.
            export_batch_size=_int(env, 'EXPORT_BATCH_SIZE', 1000, minimum=1, maximum=10_000),
            metrics_dir=_metrics_dir(env.get('PROMETHEUS_MULTIPROC_DIR')),
        )

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)


def _split_url(raw: str) -> tuple[str, str | None, str | None]:
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


def _databases(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(',') if name.strip())
    for name in names:
        if name.startswith('_') or not _DB_NAME.match(name):
            raise ConfigError(f'CLOUDANT_DATABASES: {name!r} is not an allowed database name')
    return names


def _api_keys(raw: str) -> tuple[tuple[str, str], ...]:
    """`name:key` or a bare `key` (named key-N), comma-separated; messages say which, never the key."""
    keys = []
    for number, entry in enumerate((e.strip() for e in raw.split(',') if e.strip()), start=1):
        name, _, key = entry.rpartition(':') if ':' in entry else ('', '', entry)
        name = name.strip() or f'key-{number}'
        key = key.strip()
        if not _KEY_NAME.fullmatch(name):
            raise ConfigError(f'API_KEYS: the name of key {number} must be 1-64 of A-Z a-z 0-9 . _ -')
        if len(key) < MIN_API_KEY_LENGTH or not _KEY.fullmatch(key):
            raise ConfigError(f'API_KEYS: key {number} ({name}) must be at least {MIN_API_KEY_LENGTH} '
                              'of A-Z a-z 0-9 . _ ~ + / = -')
        keys.append((name, key))
    if len({name for name, _ in keys}) < len(keys) or len({key for _, key in keys}) < len(keys):
        raise ConfigError('API_KEYS: names and keys must be unique')
    return tuple(keys)


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip('/') for o in raw.split(',') if o.strip())
    if origins == ('*',):
        return origins
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(f'CORS_ALLOW_ORIGINS: {origin!r} is not an origin like https://app.example.com'
                              ' (or use * alone)')
    return origins


def _ca_bundle(raw: str | None) -> str | None:
    if not raw:
        return None
    if not os.path.isfile(raw):
        raise ConfigError('CLOUDANT_CA_BUNDLE must name a readable PEM file')
    return raw


def _metrics_dir(raw: str | None) -> str | None:
    # prometheus_client's multiprocess mode: gunicorn's master creates and empties it.
    if not raw:
        return None
    if os.path.exists(raw) and not os.path.isdir(raw):
        raise ConfigError('PROMETHEUS_MULTIPROC_DIR must name a directory')
    return raw


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int,
         maximum: int | None = None) -> int:
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


def _float(env: Mapping[str, str], name: str, default: float) -> float:
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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or '').strip().lower()
    if not value:
        return default
    if value not in _BOOLEANS:
        raise ConfigError(f'{name} must be 1 or 0 (or true/false, yes/no, on/off)')
    return _BOOLEANS[value]


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).upper()
    if value not in choices:
        raise ConfigError(f'{name} must be one of {", ".join(choices)}')
    return value
