"""Live change streams on one dyno: memory per stream, request latency beside them, delivery, upstream feeds.

    python -m bench.changes [--streams 1000 5000] [--writes 50] [--requests 300] [--idle 10]

Starts the local pouchdb-server (a database of 100 documents) and a TLS front that counts what it
serves (its own process), then per N a fresh dyno: the Procfile's web line, 2 workers x 8 threads.
Per N: /healthz and a 100-id listing p99 over `--requests` sequential requests, without and with N
streams open; RSS of the workers (VmRSS) before and after opening them; delivery latency, from each
write's 201 (PUT through the API, one every 100 ms) to its event on every stream; and what the
front sees during `--idle` seconds of quiet with the streams open (the feeds' `_changes` long polls).
The streams are one asyncio client in this process: an event's arrival is when this loop reads it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests
import trustme

from api.cli.demo import seed
from bench.front_process import Front, p99, p99_ms, sockets
from bench.processes import proc_status_kb
from tests.support.gunicorn_process import WebProcess
from tests.support.pouch import PouchServer
from tests.support.tls_front import TLSFront

DB = 'changes'
KEY = 'bench-key-0123456789abcdef'
AUTH = {'Authorization': f'Bearer {KEY}'}


def front_stats(front: TLSFront) -> dict:
    changes = [r.connection for r in front.requests if '/_changes' in r.path]
    counts = {'accepted': front.accepted_connections, 'open': front.open_connections}
    return counts | {'requests': front.request_count, 'changes': changes}


class Streams:
    """N SSE streams on raw asyncio sockets; per stream, the arrival time of each document id seen."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[dict[str, float]] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.ended = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task] = []

    async def open(self, count: int, in_flight: int = 64) -> None:
        gate = asyncio.Semaphore(in_flight)
        await asyncio.gather(*(self._open_one(gate) for _ in range(count)))

    async def _open_one(self, gate: asyncio.Semaphore) -> None:
        request = (
            f'GET /v1/{DB}/changes HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n'
            f'Accept: text/event-stream\r\nAuthorization: Bearer {KEY}\r\n\r\n'
        ).encode()
        async with gate:
            try:
                reader, writer = await asyncio.open_connection('127.0.0.1', self.port)
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 60)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                self.errors[type(exc).__name__] += 1
                return
        status = head.split(b' ', 2)[1].decode()
        self._writers.append(writer)
        if status != '200':
            self.errors[f'HTTP {status}'] += 1
            return
        seen: dict[str, float] = {}
        self.seen.append(seen)
        chunked = b'transfer-encoding: chunked' in head.lower()
        self._tasks.append(asyncio.create_task(self._read(reader, chunked, seen)))

    async def _read(self, reader: asyncio.StreamReader, chunked: bool, seen: dict[str, float]) -> None:
        buffer = b''
        try:
            while True:
                if chunked:
                    size = int((await reader.readline()).strip() or b'0', 16)
                    data = (await reader.readexactly(size + 2))[:-2] if size else b''
                else:
                    data = await reader.read(65536)
                if not data:
                    break
                arrived = time.monotonic()
                *events, buffer = (buffer + data).split(b'\n\n')
                for event in events:
                    for line in event.split(b'\n'):
                        if line.startswith(b'data:'):
                            seen[json.loads(line[5:])['id']] = arrived
        except (OSError, asyncio.IncompleteReadError):
            pass
        self.ended += 1

    def close(self) -> None:
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()


def spread(ms: list[float]) -> str:
    return f'{statistics.median(ms):.1f} / {p99(ms):.1f} / {max(ms):.1f}'


def rss_kb(pids: list[int]) -> int:
    return sum(proc_status_kb(pid, 'VmRSS') for pid in pids)


def workers_cpu(pids: list[int]) -> float:
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def put(session: requests.Session, url: str, n: int) -> float:
    """Write through the API; when its 201 arrived (read in this thread: no wait for the event loop)."""
    answer = session.put(url, json={'n': n}, headers=AUTH, timeout=30)
    assert answer.status_code == 201, answer.text
    return time.monotonic()


async def delivery(web: WebProcess, streams: Streams, writes: int) -> dict[str, str]:
    """`writes` PUTs 100 ms apart; ms from each 201 to its event on each stream."""
    session, written = requests.Session(), {}
    cpu, wall = time.process_time(), time.monotonic()
    for n in range(writes):
        doc_id = f'live-{time.time_ns()}-{n}'
        written[doc_id] = await asyncio.to_thread(put, session, f'{web.url}/v1/{DB}/docs/{doc_id}', n)
        await asyncio.sleep(0.1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(len(s.keys() & written.keys()) < writes for s in streams.seen):
        await asyncio.sleep(0.2)
    cpu_share = 100 * (time.process_time() - cpu) / (time.monotonic() - wall)
    late = [(s[i] - t) * 1000 for s in streams.seen for i, t in written.items() if i in s]
    first = [(min(s[i] for s in streams.seen if i in s) - t) * 1000 for i, t in written.items()]
    expected = writes * len(streams.seen)
    return {
        'delivery p50 / p99 / max ms, every (write, stream)': spread(late),
        'delivery p50 / p99 / max ms, first stream per write': spread(first),
        'events expected / missing': f'{expected} / {expected - len(late)}',
        'bench client CPU while delivering, % of one core': f'{cpu_share:.0f}',
    }


async def one_run(web: WebProcess, front: Front, count: int, args) -> dict[str, str]:
    session, row = requests.Session(), {}
    healthz, listing = f'{web.url}/healthz', f'{web.url}/v1/{DB}/docs?limit=100'

    async def p99s() -> str:
        urls = (healthz, listing)
        return ' / '.join(
            [await asyncio.to_thread(p99_ms, session, url, args.requests, AUTH) for url in urls]
        )

    row['healthz / listing p99 ms, no streams'] = await p99s()
    pids = [child.pid for child in psutil.Process(web.pid).children()]  # the workers
    before, fds = rss_kb(pids), [sockets(pid) for pid in pids]
    streams, started = Streams(web.port), time.monotonic()
    await streams.open(count)
    took, failed = time.monotonic() - started, ', '.join(f'{k}: {v}' for k, v in streams.errors.items())
    row['streams open / asked'] = f'{len(streams.seen)} / {count} in {took:.1f} s, {failed or "none failed"}'
    await asyncio.sleep(2)
    after = rss_kb(pids)
    row['worker RSS before / after, MB'] = f'{before / 1024:.1f} / {after / 1024:.1f}'
    row['KB per stream (RSS delta / open)'] = f'{(after - before) / max(1, len(streams.seen)):.1f}'
    added = [sockets(pid) - n for pid, n in zip(pids, fds, strict=True)]
    row['streams per worker (sockets added)'] = ', '.join(map(str, added))
    accepted = front.ask('reset')['accepted']
    window = f'{time.monotonic() - started:.1f}'
    await asyncio.sleep(args.idle)
    idle = front.ask('stats')
    polls = idle['changes']
    row['idle window, s after opening began'] = f'{window}–{time.monotonic() - started:.1f}'
    row['idle: _changes requests / their connections'] = f'{len(polls)} / {len(set(polls))}'
    row['idle: all requests / new connections / open'] = (
        f'{idle["requests"]} / {idle["accepted"]} / {idle["open"]}'
    )
    row['healthz / listing p99 ms, streams open'] = await p99s()
    cpu = workers_cpu(pids)
    row.update(await delivery(web, streams, args.writes))
    row['workers CPU ms per write while delivering'] = f'{(workers_cpu(pids) - cpu) / args.writes * 1000:.1f}'
    row['streams ended early'] = str(streams.ended)
    row['connections the front accepted, whole run'] = str(accepted + front.ask('stats')['accepted'])
    streams.close()
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.changes', description=__doc__.split('\n')[0])
    parser.add_argument('--streams', type=int, nargs='+', default=[1000, 5000])
    parser.add_argument('--writes', type=int, default=50)
    parser.add_argument('--requests', type=int, default=300, help='per p99')
    parser.add_argument('--idle', type=float, default=10.0, help='seconds of quiet counted at the front')
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the workers inherit it too
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * max(args.streams) + 1000)), hard))
    work = Path(tempfile.mkdtemp(prefix='bench-changes-'))
    ca, front_pem = trustme.CA(), work / 'front.pem'
    ca.cert_pem.write_to_path(str(work / 'ca.pem'))
    ca.issue_cert('127.0.0.1').private_key_and_cert_chain_pem.write_to_path(str(front_pem))
    env = {'CLOUDANT_CA_BUNDLE': str(work / 'ca.pem'), 'CLOUDANT_DATABASES': DB, 'API_KEYS': f'bench:{KEY}'}
    tables = []
    with PouchServer(work / 'pouch') as pouch:
        seed(pouch.url, DB, 100)
        front = Front(pouch.port, front_pem, front_stats)
        env['CLOUDANT_URL'] = f'https://127.0.0.1:{front.port}'
        try:
            for count in args.streams:
                front.ask('reset')
                with WebProcess(WEB_CONCURRENCY='2', GUNICORN_THREADS='8', **env) as web:
                    web.wait_ready('/readyz')
                    tables.append((count, asyncio.run(one_run(web, front, count, args))))
                print(f'{count} streams done', file=sys.stderr, flush=True)
        finally:
            front.stop()
    print(f'`python -m bench.changes {" ".join(sys.argv[1:])}`: 2 workers x 8 threads, {DB} of 100 documents')
    for count, row in tables:
        print(f'\n| {count} streams | |\n|---|---:|')
        for name, value in row.items():
            print(f'| {name} | {value} |')


if __name__ == '__main__':
    main()
