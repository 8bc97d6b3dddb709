"""Settings: the only reader of the environment."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from api.config.capacity import PerClass, per_class
from api.config.environment import Environment
from api.config.issuers import Issuer, auth_issuers
from api.config.keys import ApiKey, api_keys
from api.config.values import (
    ConfigError,
    boolean,
    ca_bundle_path,
    choice,
    database_names,
    directory,
    integer,
    origins,
    seconds,
    url_and_credentials,
)

__all__ = ['ConfigError', 'Settings']

AUTH_TYPES = ('NOAUTH', 'BASIC', 'COUCHDB_SESSION', 'IAM')
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR')


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything couchgate reads from its environment, validated.

    The field defaults are the variables' defaults: from_env and the generated reference use them.
    """

    url: str = 'http://127.0.0.1:5984'
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
    header_timeout: float = 10.0  # seconds for a request head to arrive whole (api/serving/worker.py)
    api_keys: tuple[ApiKey, ...] = dataclasses.field(default=(), repr=False)  # digests, never keys
    auth_issuers: tuple[Issuer, ...] = ()  # OpenID Connect issuers whose tokens act as keys
    require_key_for_reads: bool = False
    max_body_bytes: int = 1024 * 1024
    cors_allow_origins: tuple[str, ...] = ()
    export_batch_size: int = 1000
    max_page_bytes: int = 8 * 1024 * 1024
    design_dir: str = 'design'  # views and indexes as code (api/config/design.py), relative to the cwd
    request_deadline: float = 20.0
    metrics_dir: str | None = None
    # The capacity guard (api/capacity/guard.py): None, no guard; capacity_auto: asked of Cloudant.
    capacity: PerClass | None = None
    capacity_auto: bool = False
    redis_url: str | None = dataclasses.field(default=None, repr=False)  # may hold a password
    queue_max_wait: float = 1.0
    capacity_margin: float = 0.05  # seconds added to Cloudant's one-second window (admission jitter)
    anonymous_quota: PerClass | None = None
    changes_heartbeat: float = 20.0  # seconds of quiet before a change stream sends a heartbeat line
    changes_max_streams: int = 5000  # open change streams and long polls per worker

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = Environment(os.environ if env is None else env)
        url, url_user, url_password = url_and_credentials(env.get('CLOUDANT_URL') or cls.url)
        username = env.get('CLOUDANT_USERNAME') or url_user
        password = env.get('CLOUDANT_PASSWORD') or url_password
        apikey = env.get('CLOUDANT_APIKEY') or None
        auth_type = choice(env, 'CLOUDANT_AUTH_TYPE', 'BASIC' if username else cls.auth_type, AUTH_TYPES)
        if auth_type in ('BASIC', 'COUCHDB_SESSION') and not (username and password is not None):
            raise ConfigError(f'CLOUDANT_AUTH_TYPE={auth_type} needs CLOUDANT_USERNAME and CLOUDANT_PASSWORD')
        if auth_type == 'IAM' and not apikey:
            raise ConfigError('CLOUDANT_AUTH_TYPE=IAM needs CLOUDANT_APIKEY')
        threads = integer(env, 'GUNICORN_THREADS', cls.threads, minimum=1)
        pool_maxsize = integer(env, 'CLOUDANT_POOL_MAXSIZE', threads, minimum=1)
        databases = database_names(env.get('CLOUDANT_DATABASES', ''))
        keys = api_keys(env.get('API_KEYS', ''), databases)
        issuers = auth_issuers(env.get('AUTH_ISSUERS', ''), databases)
        shared = sorted({key.name for key in keys} & {issuer.name for issuer in issuers})
        if shared:
            # The log line and /metrics tell keys and issuers apart by name alone.
            raise ConfigError(f'AUTH_ISSUERS: the issuer name {shared[0]!r} is also the name of an API key')
        require_key_for_reads = boolean(env, 'API_REQUIRE_KEY_FOR_READS', cls.require_key_for_reads)
        if require_key_for_reads and not (keys or issuers):
            raise ConfigError('API_REQUIRE_KEY_FOR_READS needs API_KEYS or AUTH_ISSUERS')
        raw_capacity = (env.get('CLOUDANT_CAPACITY') or '').strip()
        capacity_auto = raw_capacity.lower() == 'auto'
        capacity = (
            per_class(raw_capacity, 'CLOUDANT_CAPACITY', every_class=True)
            if raw_capacity and not capacity_auto
            else None
        )
        raw_anonymous = env.get('API_ANONYMOUS_QUOTA') or ''
        request_deadline = seconds(env, 'CLOUDANT_REQUEST_DEADLINE', cls.request_deadline)
        return cls(
            url=url,
            auth_type=auth_type,
            username=username,
            password=password,
            apikey=apikey,
            iam_url=env.get('CLOUDANT_IAM_URL') or None,
            ca_bundle=ca_bundle_path(env.get('CLOUDANT_CA_BUNDLE')),
            databases=databases,
            threads=threads,
            # Fewer pooled connections than threads means churn: never size below the threads.
            pool_maxsize=max(pool_maxsize, threads),
            connect_timeout=seconds(env, 'CLOUDANT_CONNECT_TIMEOUT', cls.connect_timeout),
            read_timeout=seconds(env, 'CLOUDANT_READ_TIMEOUT', cls.read_timeout),
            max_retries=integer(env, 'CLOUDANT_MAX_RETRIES', cls.max_retries, minimum=0, maximum=10),
            retry_max_wait=seconds(env, 'CLOUDANT_RETRY_MAX_WAIT', cls.retry_max_wait),
            log_level=choice(env, 'LOG_LEVEL', cls.log_level, LOG_LEVELS),
            pool_maxsize_requested=pool_maxsize if env.get('CLOUDANT_POOL_MAXSIZE') else None,
            workers=integer(env, 'WEB_CONCURRENCY', cls.workers, minimum=1),
            port=integer(env, 'PORT', cls.port, minimum=1, maximum=65535),
            preload_app=boolean(env, 'PRELOAD_APP', cls.preload_app),
            header_timeout=seconds(env, 'GUNICORN_HEADER_TIMEOUT', cls.header_timeout),
            api_keys=keys,
            auth_issuers=issuers,
            require_key_for_reads=require_key_for_reads,
            max_body_bytes=integer(env, 'API_MAX_BODY_BYTES', cls.max_body_bytes, minimum=1024),
            cors_allow_origins=origins(env.get('CORS_ALLOW_ORIGINS', '')),
            # One batch is held in memory while it streams out: bounded, so memory stays flat.
            export_batch_size=integer(
                env, 'EXPORT_BATCH_SIZE', cls.export_batch_size, minimum=1, maximum=10_000
            ),
            metrics_dir=directory(env.get('PROMETHEUS_MULTIPROC_DIR')),
            # A page or export batch ends at this many bytes of JSON (memory by bytes, not documents).
            max_page_bytes=integer(env, 'API_MAX_PAGE_BYTES', cls.max_page_bytes, minimum=1024),
            request_deadline=request_deadline,
            design_dir=env.get('DESIGN_DIR') or cls.design_dir,
            capacity=capacity,
            capacity_auto=capacity_auto,
            redis_url=env.get('REDIS_URL') or None,
            # A wait for room never outlasts the request's deadline.
            queue_max_wait=min(seconds(env, 'CLOUDANT_QUEUE_MAX_WAIT', cls.queue_max_wait), request_deadline),
            capacity_margin=seconds(env, 'CLOUDANT_CAPACITY_MARGIN', cls.capacity_margin),
            anonymous_quota=per_class(raw_anonymous, 'API_ANONYMOUS_QUOTA', every_class=False)
            if raw_anonymous.strip()
            else None,
            # Under Heroku's 55 s without a byte, and never 0 (a stream would spin on heartbeats).
            changes_heartbeat=min(max(seconds(env, 'CHANGES_HEARTBEAT', cls.changes_heartbeat), 1.0), 50.0),
            changes_max_streams=integer(env, 'CHANGES_MAX_STREAMS', cls.changes_max_streams, minimum=1),
        )
