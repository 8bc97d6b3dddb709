"""Threads only for requests that have arrived: idle and trickling connections cost gunicorn no thread.

gunicorn 27's gthread worker gave each new connection a thread that waited up to 5 s for its first
byte and then read the head with no deadline: 40 slow clients starved 16 threads.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time

import pytest
import requests

from tests.support.api_keys import TEST_KEY, TEST_KEYS
from tests.support.gunicorn_process import WebProcess
from tests.support.poll import wait_for
from tests.support.problems import assert_problem
from tests.support.raw_http import closed_by_server, read_answer
from tests.support.web import seed_documents

IDLE, TRICKLING, PROBES = 200, 40, 12
PROBE_TIMEOUT = 5.0  # a liveness bound: a starved server never answers, a busy one answers late
# Set (e.g. to {'GUNICORN_CMD_ARGS': '--worker-class gthread'}) to measure gunicorn's own worker.
STOCK: dict[str, str] = {}
TRICKLE_INTERVAL = 0.2  # seconds between two header bytes of one trickling client


@pytest.fixture
def db(make_db, couch_admin):
    name = make_db()
    seed_documents(couch_admin, name, 30)
    return name


def start(pouch, db: str, **env: str) -> WebProcess:
    settings = {
        'WEB_CONCURRENCY': '2',
        'GUNICORN_THREADS': '8',
        'CLOUDANT_URL': pouch.url,
        'CLOUDANT_DATABASES': db,
    }
    return WebProcess(**dict(settings, **STOCK, **env))


class Trickler:
    """Clients that send a request head one byte at a time and never finish it."""

    def __init__(self, port: int, count: int) -> None:
        self.socks = [socket.create_connection(('127.0.0.1', port)) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ')
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(TRICKLE_INTERVAL):  # the trickle's pace, not a synchronisation
            for sock in self.socks:
                with contextlib.suppress(OSError):
                    sock.send(b'x')
                    self.sent += 1

    def __enter__(self) -> Trickler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()


def probe(url: str) -> float | None:
    """Seconds until a 200 on a fresh connection, or None if no answer within PROBE_TIMEOUT."""
    began = time.monotonic()
    try:
        response = requests.get(url, timeout=PROBE_TIMEOUT, headers={'Connection': 'close'})
    except requests.RequestException:
        return None
    return time.monotonic() - began if response.status_code == 200 else None


def test_idle_and_trickling_connections_leave_every_probe_answered(pouch, db):
    # A long head deadline: the connections must still be open while the probes run.
    with start(pouch, db, GUNICORN_HEADER_TIMEOUT='120') as web:
        web.wait_ready('/healthz')
        idle = [socket.create_connection(('127.0.0.1', web.port)) for _ in range(IDLE)]
        try:
            with Trickler(web.port, TRICKLING) as trickler:
                wait_for(lambda: trickler.sent >= 2 * TRICKLING, 'the trickle to be under way')
                timings = {
                    path: [probe(web.url + path) for _ in range(PROBES)]
                    for path in ('/healthz', f'/v1/{db}/docs?limit=10')
                }
                still_open = sum(closed_by_server_now(sock) is False for sock in idle + trickler.socks)
        finally:
            for sock in idle:
                sock.close()
    for path, seconds in timings.items():
        answered = sorted(s for s in seconds if s is not None)
        p50 = statistics.median(answered) * 1000 if answered else float('nan')
        p99 = answered[-1] * 1000 if answered else float('nan')  # of 12, the 99th percentile is the slowest
        print(
            f'\n{IDLE} idle + {TRICKLING} trickling connections: {path}: {len(answered)} of {PROBES} '
            f'answered within {PROBE_TIMEOUT:g} s, p50 {p50:.1f} ms, p99 {p99:.1f} ms'
        )
    print(f'held open by the server during the probes: {still_open} of {IDLE + TRICKLING}')
    assert {path: sum(s is not None for s in seconds) for path, seconds in timings.items()} == dict.fromkeys(
        timings, PROBES
    )
    assert still_open == IDLE + TRICKLING  # the probes ran while every slow connection was held


def test_a_body_that_stops_arriving_gets_408_and_frees_its_thread(pouch, db):
    head = f'PUT /v1/{db}/docs/stalled HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TEST_KEY}\r\n'
    stalls = {
        # a chunk of 20 hex digits' size, of which 16 bytes come; then nothing, connection open
        'chunked': 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
        'ffffffffffffffffffff\r\n{"a": 1, "b": 22}',
        'content-length': 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a": 1',
    }
    with start(pouch, db, GUNICORN_HEADER_TIMEOUT='1', GUNICORN_THREADS='1', API_KEYS=TEST_KEYS) as web:
        web.wait_ready('/healthz')
        for name, rest in stalls.items():
            with socket.create_connection(('127.0.0.1', web.port), timeout=20) as sock:
                sock.sendall((head + rest).encode())
                answer = read_answer(sock)
                print(f'\na {name} body that stops: {answer.status_code} {answer.headers["content-type"]}')
                assert_problem(answer, 408, 'request-timeout')
                assert closed_by_server(sock) == b''
        assert 'Traceback' not in web.output()


def test_clients_that_never_close_leave_every_probe_answered(pouch, db):
    # gthread closes a finished connection on the worker's loop and waits there up to 2 s for the
    # client's EOF: 40 clients that never close would stall both workers for 40 s.
    with start(pouch, db) as web:
        web.wait_ready('/healthz')
        lingering = [socket.create_connection(('127.0.0.1', web.port), timeout=20) for _ in range(TRICKLING)]
        try:
            for sock in lingering:
                sock.sendall(b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
            assert [read_answer(sock).status_code for sock in lingering] == [200] * TRICKLING
            seconds = [probe(web.url + '/healthz') for _ in range(PROBES)]
        finally:
            for sock in lingering:
                sock.close()
    answered = sorted(s for s in seconds if s is not None)
    print(
        f'\n{TRICKLING} answered clients that never close: /healthz {len(answered)} of {PROBES} answered '
        f'within {PROBE_TIMEOUT:g} s'
        + (f', p50 {statistics.median(answered) * 1000:.1f} ms' if answered else '')
    )
    assert len(answered) == PROBES


def closed_by_server_now(sock: socket.socket) -> bool:
    """Whether the server has closed `sock` (or answered on it), without waiting."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) is not None
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def test_a_head_not_complete_within_the_deadline_gets_408_and_the_connection_closed(pouch, db):
    with start(pouch, db, GUNICORN_HEADER_TIMEOUT='1') as web:
        web.wait_ready('/healthz')
        partial = socket.create_connection(('127.0.0.1', web.port), timeout=20)
        silent = socket.create_connection(('127.0.0.1', web.port), timeout=20)
        began = time.monotonic()
        partial.sendall(b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ')
        with partial, silent:
            answer = read_answer(partial)
            waited = time.monotonic() - began
            body = assert_problem(answer, 408, 'request-timeout')
            assert answer.headers['connection'] == 'close'
            assert closed_by_server(partial) == b''
            # Nothing sent at all: closed too, without an answer nobody asked for.
            assert closed_by_server(silent) == b''
        logged = web.wait_for(
            lambda: [line for line in web.json_lines() if line.get('request_id') == body['request_id']],
            10,
            "the 408's log line",
        )
    print(f'\nhead deadline 1 s: 408 after {waited:.2f} s; logged: {logged}')
    assert 1 <= waited < 10
    assert [line['status'] for line in logged] == [408]
