"""What the live benchmarks share: the counting TLS front in a process of its own, and the figures
read from outside a dyno (a p99 of sequential requests, the sockets a process holds)."""

from __future__ import annotations

import multiprocessing
import ssl
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.tls_front import TLSFront

Stats = Callable[[TLSFront], dict]  # what the front reports when asked (a module-level function)


def serve_front(conn, upstream_port: int, cert_chain: str, stats: Stats) -> None:
    """The counting TLS front, in a process of its own: answers 'stats' and 'reset' on `conn`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_chain)
    with TLSFront(('127.0.0.1', upstream_port), context) as front:
        conn.send(front.port)
        while (command := conn.recv()) != 'stop':
            conn.send(stats(front))
            if command == 'reset':  # after the answer: what was counted until now
                front.reset()


class Front:
    """serve_front in a child process, asked through a pipe."""

    def __init__(self, pouch_port: int, cert_chain: Path, stats: Stats) -> None:
        self._conn, child = multiprocessing.Pipe()
        context = multiprocessing.get_context('fork')  # no thread in this process yet
        self.process = context.Process(target=serve_front, args=(child, pouch_port, str(cert_chain), stats))
        self.process.start()
        self.port = self._conn.recv()
        self.url = f'https://127.0.0.1:{self.port}'

    def ask(self, command: str) -> dict:
        self._conn.send(command)
        return self._conn.recv()

    def stop(self) -> None:
        self._conn.send('stop')
        self.process.join(10)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method='inclusive')[98]


def p99_ms(session: requests.Session, url: str, count: int, headers: dict | None = None) -> str:
    """The p99 of `count` sequential GETs of `url`, in ms, and how many were not 200."""
    times, failed = [], 0
    for _ in range(count):
        started = time.perf_counter()
        failed += session.get(url, headers=headers, timeout=30).status_code != 200
        times.append((time.perf_counter() - started) * 1000)
    return f'{p99(times):.1f}' + (f' ({failed} not 200)' if failed else '')


def sockets(pid: int) -> int:
    return sum(str(fd.readlink()).startswith('socket:') for fd in Path(f'/proc/{pid}/fd').iterdir())
