"""Real PouchDB replicating through `/sync/{db}`: the node tests of tests/node/ (node's own test runner,
PouchDB 9 with in-memory local databases) against the Procfile's web line, its upstream the local
server behind the counting TLS front, users signed in by a real local OpenID Connect issuer.

The node side asks this module's control server what happened upstream (the stored ids, what the
front saw) and to kill and start the web process, so that replication is checked from outside.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.support.gunicorn_process import WebProcess, clean_env
from tests.support.oidc_issuer import OidcIssuer
from tests.support.pouch import free_port
from tests.support.sign_in import auth_issuers

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_TESTS = REPO_ROOT / 'tests' / 'node'
NODE_TIMEOUT = 600.0  # the whole node run; each node test has its own, shorter, timeout
TOKEN_LIFETIME = 3 * 3600  # generous: a slow run must not see its tokens expire

PREFIX_KEY = 'sync-t9-key-' + secrets.token_hex(8)
READ_ONLY_KEY = 'sync-reader-key-' + secrets.token_hex(8)
ELSEWHERE_KEY = 'sync-elsewhere-key-' + secrets.token_hex(8)
WRITE_ONLY_KEY = 'sync-writer-key-' + secrets.token_hex(8)


def api_keys(db: str, other_db: str) -> str:
    return json.dumps(
        [
            {'name': 'tenant9', 'key': PREFIX_KEY, 'scopes': ['read', 'write'], 'id_prefix': 't9:'},
            {'name': 'reader', 'key': READ_ONLY_KEY, 'scopes': ['read'], 'id_prefix': 'ro:'},
            {'name': 'elsewhere', 'key': ELSEWHERE_KEY, 'scopes': ['read', 'write'], 'databases': [other_db]},
            {'name': 'writer', 'key': WRITE_ONLY_KEY, 'scopes': ['write'], 'id_prefix': 'wo:'},
        ]
    )


# gunicorn's start-up lines: every generation writes them, they explain nothing.
_QUIET = ('[INFO] Starting', '[INFO] Listening', '[INFO] Using', '[INFO] Booting')


class RestartableWeb:
    """The web line on one fixed port, killed (SIGKILL, as a crashed dyno) and started again on demand."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self._env = env
        self._lock = threading.Lock()
        self._current: WebProcess | None = None
        self._all: list[WebProcess] = []

    def start(self) -> None:
        with self._lock:
            if self._current is not None and self._current.proc.poll() is None:
                return  # already running: starting is idempotent
            process = WebProcess(PORT=str(self.port), **self._env)
            self._all.append(process)
            process.__enter__()
            self._current = process
            process.wait_ready('/healthz')

    def kill(self) -> None:
        with self._lock:
            if self._current is not None and self._current.proc.poll() is None:
                self._current.stop(signal.SIGKILL)

    def close(self) -> None:
        with self._lock:
            for process in self._all:
                process.__exit__(None, None, None)

    def refusals(self, lines: int = 40) -> str:
        """The last requests any generation answered with 4xx or 5xx, and what the processes wrote
        on stderr beyond gunicorn's start-up lines: what a failing node test needs to be explained."""
        with self._lock:
            processes = list(self._all)
        answered = [
            f'{line["method"]} {line["path"]} -> {line["status"]} (key {line.get("key_name")})'
            for process in processes
            for line in process.json_lines()
            if line.get('logger') == 'couchgate.request'
            and int(line.get('status') or 0) >= 400
            # A replicator's first look for its checkpoint: a 404 every time, nothing wrong.
            and not (line['method'] == 'GET' and '/_local/' in line['path'] and line['status'] == 404)
        ]
        errors = [
            line
            for process in processes
            for line in process.stderr.splitlines()
            if not any(quiet in line for quiet in _QUIET)
        ]
        return '\n'.join([*answered[-lines:], '--- web stderr ---', *errors[-lines:]])


def json_body(raw: bytes):
    """The JSON of a request body as the front recorded it (its chunked framing removed if any)."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    data, rest = b'', raw
    try:
        while rest:
            size_line, _, rest = rest.partition(b'\r\n')
            size = int(size_line.split(b';')[0], 16)
            if size == 0:
                break
            data, rest = data + rest[:size], rest[size + 2 :]
        return json.loads(data)
    except ValueError:
        return None


def front_counts(front, prefix: str) -> dict:
    """What the front saw since its last reset: requests by kind, and the documents (of ids starting
    with `prefix`) sent in `_bulk_docs` bodies and asked about in `_revs_diff` bodies."""
    by_kind: Counter[str] = Counter()
    counts = Counter({'requests': 0, 'bulk_docs_requests': 0, 'bulk_docs_docs': 0, 'revs_diff_ids': 0})
    for record in front.requests:
        counts['requests'] += 1
        path = record.path.split('?')[0]
        last = path.rstrip('/').rsplit('/', 1)[-1]
        kind = last if last.startswith('_') else ('_local' if '/_local/' in path else 'other')
        by_kind[kind] += 1
        if record.method != 'POST' or kind not in ('_bulk_docs', '_revs_diff'):
            continue
        sent = json_body(record.body)
        if kind == '_bulk_docs':
            counts['bulk_docs_requests'] += 1
            docs = sent.get('docs', []) if isinstance(sent, dict) else []
            counts['bulk_docs_docs'] += sum(
                1 for doc in docs if isinstance(doc, dict) and str(doc.get('_id', '')).startswith(prefix)
            )
        elif isinstance(sent, dict):
            counts['revs_diff_ids'] += sum(1 for doc_id in sent if doc_id.startswith(prefix))
    return {**counts, 'by_kind': dict(by_kind)}


class Control:
    """The HTTP server the node tests ask: what is upstream, what the front saw, kill/start the web."""

    def __init__(self, web: RestartableWeb, front, couch_admin, issuer: OidcIssuer) -> None:
        self.web, self.front, self.couch_admin, self.issuer = web, front, couch_admin, issuer
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}'
        self._thread = threading.Thread(target=self._server.serve_forever, name='sync-control', daemon=True)

    def __enter__(self) -> Control:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def upstream_ids(self, db: str, prefix: str) -> list[str]:
        params = {'limit': '1000000'}
        if prefix:
            params.update(startkey=json.dumps(prefix), endkey=json.dumps(prefix + '\ufff0'))
        answer = self.couch_admin.get(f'{quote(db, safe="")}/_all_docs', params=params, timeout=60)
        answer.raise_for_status()
        return [row['id'] for row in answer.json()['rows']]

    def upstream_doc(self, db: str, doc_id: str) -> tuple[int, object]:
        answer = self.couch_admin.get(
            f'{quote(db, safe="")}/{quote(doc_id, safe="")}',
            params={'conflicts': 'true', 'revs_info': 'true'},
        )
        return answer.status_code, answer.json()

    def token(self, sub: str) -> str:
        return self.issuer.token(sub=sub, exp=int(time.time()) + TOKEN_LIFETIME)


def _handler(control: Control) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {name: values[-1] for name, values in parse_qs(url.query).items()}
            if url.path == '/upstream':
                ids = control.upstream_ids(query['db'], query.get('prefix', ''))
                return self._send(200, {'ids': ids})
            if url.path == '/doc':
                status, doc = control.upstream_doc(query['db'], query['id'])
                return self._send(200, {'status': status, 'doc': doc})
            if url.path == '/counts':
                return self._send(200, front_counts(control.front, query.get('prefix', '')))
            if url.path == '/token':
                return self._send(200, {'token': control.token(query['sub'])})
            self._send(404, {'error': 'not_found'})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get('Content-Length') or 0))
            if self.path == '/reset-counts':
                control.front.reset()
            elif self.path == '/kill-web':
                control.web.kill()
            elif self.path == '/start-web':
                control.web.start()
            else:
                return self._send(404, {'error': 'not_found'})
            self._send(200, {'ok': True})

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except Exception as exc:  # a failed check answers 500 with its reason, for the node side
                with contextlib.suppress(OSError):
                    self._send(500, {'error': 'control', 'reason': repr(exc)})

        def _send(self, status: int, value: object) -> None:
            data = json.dumps(value).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def run_node(node: str, env: dict[str, str]) -> tuple[int | None, str, str]:
    """`node --test` over tests/node/ in a process group of its own (the runner starts a process per
    file): past NODE_TIMEOUT the whole group is killed. Returns (exit code or None, stdout, stderr)."""
    with subprocess.Popen(
        [node, '--test', '--test-reporter=spec', *node_test_files()],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=NODE_TIMEOUT)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return None, out, err + f'\n(killed: still running after {NODE_TIMEOUT:g} s)'


def node_test_files() -> list[str]:
    """tests/node/*.test.mjs, named one by one: node 20 takes a directory, later versions globs only."""
    files = sorted(str(path.relative_to(REPO_ROOT)) for path in NODE_TESTS.glob('*.test.mjs'))
    assert files, f'no *.test.mjs in {NODE_TESTS}'
    return files


@pytest.fixture
def issuer():
    with OidcIssuer() as running:
        yield running


def test_pouchdb_replicates_through_sync(pouch, couch_admin, make_db, front, ca_bundle, issuer):
    node = shutil.which('node')
    assert node, 'node is not on PATH'
    assert (REPO_ROOT / 'node_modules' / 'pouchdb' / 'package.json').is_file(), (
        'PouchDB is not installed: run `make install` (npm ci installs the devDependencies)'
    )
    db, other_db = make_db(), make_db()
    web = RestartableWeb(
        WEB_CONCURRENCY='2',
        GUNICORN_THREADS='8',
        CLOUDANT_URL=front.url,
        CLOUDANT_CA_BUNDLE=ca_bundle,
        CLOUDANT_DATABASES=f'{db},{other_db}',
        API_KEYS=api_keys(db, other_db),
        AUTH_ISSUERS=auth_issuers(issuer),
    )
    try:
        web.start()
        with Control(web, front, couch_admin, issuer) as control:
            env = clean_env(
                SYNC_BASE_URL=web.url,
                SYNC_CONTROL_URL=control.url,
                SYNC_DB=db,
                SYNC_OTHER_DB=other_db,
                SYNC_TOKEN_ALICE=control.token('alice'),
                SYNC_TOKEN_BOB=control.token('bob'),
                SYNC_PREFIX_KEY=PREFIX_KEY,
                SYNC_PREFIX_KEY_PREFIX='t9:',
                SYNC_READ_ONLY_KEY=READ_ONLY_KEY,
                SYNC_ELSEWHERE_KEY=ELSEWHERE_KEY,
                SYNC_WRITE_ONLY_KEY=WRITE_ONLY_KEY,
            )
            env.pop('NODE_OPTIONS', None)
            started = time.monotonic()
            code, out, err = run_node(node, env)
            elapsed = time.monotonic() - started
        report = (
            f'node --test tests/node/*.test.mjs: exit code {code} after {elapsed:.0f} s\n'
            f'--- stdout ---\n{out}\n--- stderr ---\n{err}\n'
            f'--- web: the last refused requests ---\n{web.refusals()}\n'
            + (f'--- pouchdb-server crashed; its log ---\n{pouch.log_tail()}\n' if pouch.died else '')
        )
        if code != 0:
            pytest.fail(report, pytrace=False)
        print(report)  # shown with -s or -rP: which node tests ran, and how long each took
    finally:
        web.close()
        if pouch.died:
            pouch.restart()
