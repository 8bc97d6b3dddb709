"""Cloudant's capacity, emulated: a proxy before the local server that admits each request class
within a sliding one-second window, answers 429 beyond it, and counts what it admitted when.

Its classes are decided here, from the method and path alone, independently of couchgate's.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import requests

from tests.support.poll import wait_for
from tests.support.pouch import free_port
from tests.support.processes import stop_process

CLASS_HEADER = 'X-Cloudant-Request-Class'
_HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'content-length'}
_QUERIES = {'_all_docs', '_find', '_explain', '_changes'}


def request_class(method: str, path: str, body: bytes) -> tuple[str, int]:
    """Cloudant's name for the class, and the units the request spends."""
    parts = [p for p in urlsplit(path).path.split('/') if p]
    if len(parts) >= 2 and (parts[1] in _QUERIES or (parts[1] == '_design' and '_view' in parts)):
        return 'query', 1
    if len(parts) >= 2 and parts[1] == '_bulk_docs':
        docs = orjson.loads(body).get('docs', []) if body else []
        return 'write', max(1, len(docs))
    if method in ('GET', 'HEAD') or parts[:1] == ['_session']:
        return 'read', 1
    return 'write', 1


class EmulatorServer:
    """Listens on 127.0.0.1; forwards to `upstream` (http://host:port) what fits the capacity."""

    def __init__(self, upstream: str, *, read: int, write: int, query: int, port: int = 0) -> None:
        self.limits = {'read': read, 'write': write, 'query': query}
        target = urlsplit(upstream)
        self._target = (target.hostname or '127.0.0.1', target.port or 80)
        self._lock = threading.Lock()
        self._recent: dict[str, collections.deque[float]] = {c: collections.deque() for c in self.limits}
        self.admitted: dict[str, list[float]] = {c: [] for c in self.limits}  # arrival times (time.time())
        self.refused: dict[str, int] = dict.fromkeys(self.limits, 0)
        self.refused_at: dict[str, list[float]] = {c: [] for c in self.limits}
        self._local = threading.local()
        self._server = ThreadingHTTPServer(('127.0.0.1', port), self._handler())
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}'

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stats(self) -> dict:
        with self._lock:
            return {
                'admitted': {c: list(t) for c, t in self.admitted.items()},
                'refused': dict(self.refused),
                'refused_at': {c: list(t) for c, t in self.refused_at.items()},
            }

    def reset(self) -> None:
        with self._lock:
            for c in self.limits:
                self._recent[c].clear()
                self.admitted[c].clear()
                self.refused[c] = 0
                self.refused_at[c].clear()

    def admit(self, cls: str, units: int) -> bool:
        """Cloudant's rule: a request fits if its class spent less than the limit in the last 1,000 ms."""
        now = time.time()  # wall clock: comparable with the log lines of the tests
        with self._lock:
            recent = self._recent[cls]
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) + units > self.limits[cls]:
                self.refused[cls] += 1
                self.refused_at[cls].append(now)
                return False
            recent.extend([now] * units)
            self.admitted[cls].extend([now] * units)
            return True

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes):
        for attempt in (1, 2):
            conn = getattr(self._local, 'conn', None) or http.client.HTTPConnection(*self._target, timeout=30)
            self._local.conn = conn
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError('unreachable')

    def _handler(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                if self.path.startswith('/_emulator/'):  # the test's questions, never counted
                    if self.path == '/_emulator/reset':
                        emulator.reset()
                    self._answer(
                        200, [('Content-Type', 'application/json')], orjson.dumps(emulator.stats()), ''
                    )
                    return
                cls, units = request_class(self.command, self.path, body)
                if not emulator.admit(cls, units):
                    payload = b'{"error":"too_many_requests","reason":"rate limit exceeded"}'
                    self._answer(429, [('Content-Type', 'application/json')], payload, cls)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                status, out_headers, out = emulator.forward(self.command, self.path, headers, body)
                self._answer(status, out_headers, out, cls)

            def _answer(self, status: int, headers, body: bytes, cls: str) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                if cls:
                    self.send_header(CLASS_HEADER, cls)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        return Handler


class CapacityEmulator:
    """The emulator in a process of its own (the tests' threads do not delay its clock); stats over HTTP."""

    def __init__(self, upstream: str, *, read: int, write: int, query: int) -> None:
        self.limits = {'read': read, 'write': write, 'query': query}
        self._args = [
            '--upstream',
            upstream,
            '--read',
            str(read),
            '--write',
            str(write),
            '--query',
            str(query),
        ]
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> CapacityEmulator:
        self._proc = subprocess.Popen(
            [sys.executable, '-m', 'tests.support.capacity_emulator', '--port', str(self.port), *self._args],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.DEVNULL,
        )
        wait_for(self._answers, f'the capacity emulator on port {self.port}')
        return self

    def __exit__(self, *exc_info) -> None:
        if self._proc is not None:
            stop_process(self._proc, 5)

    def _answers(self) -> bool:
        assert self._proc is not None and self._proc.poll() is None, 'the capacity emulator exited'
        try:
            return requests.get(self.url + '/_emulator/stats', timeout=2).ok
        except requests.RequestException:
            return False

    def _stats(self, path: str = 'stats') -> dict:
        return requests.get(f'{self.url}/_emulator/{path}', timeout=10).json()

    def reset(self) -> None:
        self._stats('reset')

    @property
    def refused(self) -> dict[str, int]:
        """429s answered, by class."""
        return self._stats()['refused']

    def refused_at(self, cls: str) -> list[float]:
        """When each 429 of `cls` was answered (time.time())."""
        return self._stats()['refused_at'][cls]

    def admitted(self, cls: str) -> list[float]:
        """When each admitted unit of `cls` arrived (time.time())."""
        return self._stats()['admitted'][cls]

    def most_in_any_second(self, cls: str) -> int:
        """The most units of `cls` admitted within any 1,000 ms."""
        return most_in_any_second(self.admitted(cls))

    def per_second(self, cls: str) -> list[int]:
        """Units admitted in each whole second since the first admission of `cls`."""
        times = self.admitted(cls)
        if not times:
            return []
        counts = collections.Counter(int(t - times[0]) for t in times)
        return [counts.get(s, 0) for s in range(max(counts) + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True)
    parser.add_argument('--port', type=int, default=0)
    for cls in ('read', 'write', 'query'):
        parser.add_argument(f'--{cls}', type=int, required=True)
    args = parser.parse_args()
    server = EmulatorServer(args.upstream, read=args.read, write=args.write, query=args.query, port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == '__main__':
    main()


def most_in_any_second(times: list[float]) -> int:
    """The most of sorted `times` (seconds) within any 1,000 ms."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
