"""PouchDB replication through /sync/{db}: a full pull beside the same pull direct, and idle live syncs.

    python -m bench.sync [--parts pull live] [--docs 10000] [--runs 3] [--syncs 1000] [--processes 2]
                         [--requests 300] [--idle 30]

Starts the local pouchdb-server and a TLS front that counts what it serves (its own process), as
bench/changes.py does, and seeds it with `_bulk_docs`: `sync_pull` holds `--docs` documents of ~1 KB
under the key's id prefix (`b1:doc-00001`, ...), `sync_direct` the same documents without it,
`sync_live` ten documents under the prefix. Couchgate is the Procfile's web line, 1 worker x 8
threads, over the front; its key (`b1:`) has read and write. PouchDB 9 runs in node
(bench/sync_client.cjs, the memory adapter, the repo's node_modules).

Pull: one pull each way to warm up, then `--runs` pulls each way, alternating, each a fresh node
process into an empty database: through couchgate (`/sync/sync_pull`) and direct (`sync_direct` at
the front's URL, so the front counts both). Wall time is the replication's own, measured in node;
the front's request count and the CPU seconds of each process are per pull. Targets: time <= 1.5x,
upstream requests <= 1.1x of the direct pull.

Live: a fresh dyno; `--syncs` live pulls of `sync_live` (`replicate.from(..., {live, retry})`, long
polls of `_changes`) over `--processes` node processes. Once every one is caught up: the worker's
RSS and threads before and after, /healthz p99 over `--requests` sequential requests without and
with the syncs open, and what the front (and couchgate) sees during `--idle` seconds of quiet: an
idle long poll ends after 25 s with an empty page, and PouchDB asks again at once.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import requests
import trustme

from bench.front_process import Front, p99_ms, sockets
from bench.processes import REPO_ROOT, Service, proc_status_kb
from tests.support.gunicorn_process import WebProcess
from tests.support.pouch import CouchAdmin, PouchServer
from tests.support.tls_front import TLSFront

CLIENT = REPO_ROOT / 'bench' / 'sync_client.cjs'
PULL_DB, DIRECT_DB, LIVE_DB = 'sync_pull', 'sync_direct', 'sync_live'
KEY, PREFIX = 'bench-sync-key-0123456789abcdef', 'b1:'
API_KEYS = json.dumps([{'name': 'bench-sync', 'key': KEY, 'scopes': ['read', 'write'], 'id_prefix': PREFIX}])
LIVE_DOCS = 10


def kind(method: str, target: str) -> str:
    """A request in a few words: `GET _changes longpoll`, `PUT _local`, `GET db`, `GET server`."""
    parts = urlsplit(target)
    path = [p for p in parts.path.split('/') if p]
    path = path[1:] if path[:1] == ['sync'] else path  # couchgate's server is /sync/
    names = {0: 'server', 1: 'db'}
    name = '_local' if path[1:2] == ['_local'] else names.get(len(path)) or path[-1]
    query = parse_qs(parts.query)
    extra = [query[k][0] for k in ('feed', 'filter') if k in query]
    return ' '.join([method, name, *extra])


def front_stats(front: TLSFront) -> dict:
    kinds = collections.Counter(kind(r.method, r.path) for r in front.requests)
    return {'requests': front.request_count, 'kinds': dict(kinds), 'open': front.open_connections}


def seed(admin: CouchAdmin, db: str, ids: list[str]) -> None:
    """`ids` as documents of ~1 KB, straight into the local server, 1,000 per `_bulk_docs`."""
    assert admin.put(db).status_code == 201, f'{db} exists already'
    for start in range(0, len(ids), 1000):
        docs = [
            {'_id': doc_id, 'n': n, 'kind': 'bench', 'text': (f'{doc_id} lorem ipsum {n} ' * 40)[:950]}
            for n, doc_id in enumerate(ids[start : start + 1000], start)
        ]
        answer = admin.post(f'{db}/_bulk_docs', json={'docs': docs}, timeout=120)
        assert answer.status_code == 201 and not any('error' in row for row in answer.json()), answer.text


def node_client(work: Path, name: str, env: dict[str, str], *args: str) -> Service:
    return Service(name, ['node', str(CLIENT), *args], work, env=env, stdin=True, json_stdout=True)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    return sum(psutil.Process(pid).cpu_times()[:2])


def one_pull(
    work: Path, env: dict[str, str], front: Front, pids: dict[str, int], url: str, token: str
) -> dict:
    """One pull in a fresh node process: the client's figures, what the front counted meanwhile, and
    the CPU seconds each of `pids` (and the node process) spent on it."""
    front.ask('reset')
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    client = node_client(work, 'pull', env, 'pull', url, *([token] if token else []))
    try:
        result = client.read_json(timeout=600)
        cpu = {name: cpu_s(pid) - before[name] for name, pid in pids.items()} | {
            'node': cpu_s(client.proc.pid)
        }
    finally:
        client.stop()
    if 'ms' not in result:
        raise RuntimeError(f'pull of {url} failed: {result}')
    return result | {'front': front.ask('stats'), 'cpu': cpu}


def kinds(counts: dict[str, int], per: float = 1.0, digits: int = 0) -> str:
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ', '.join(f'{name} {count / per:.{digits}f}' for name, count in ranked) or 'none'


def pulls(work: Path, env: dict[str, str], front: Front, web: WebProcess, pids: dict, args) -> dict[str, str]:
    ways = {'couchgate': (f'{web.url}/sync/{PULL_DB}', KEY), 'direct': (f'{front.url}/{DIRECT_DB}', '')}
    pids = {'worker': worker_pid(web), **pids}
    for url, token in ways.values():  # warm: the worker's first replicator, pouchdb-server's JIT
        one_pull(work, env, front, pids, url, token)
    runs: dict[str, list[dict]] = {'couchgate': [], 'direct': []}
    for n in range(args.runs):
        for way, (url, token) in ways.items():
            runs[way].append(one_pull(work, env, front, pids, url, token))
        print(f'pull {n + 1} of {args.runs} done', file=sys.stderr, flush=True)
    seconds = {way: [r['ms'] / 1000 for r in done] for way, done in runs.items()}
    upstream = {way: [r['front']['requests'] for r in done] for way, done in runs.items()}
    time_ratio = statistics.median(seconds['couchgate']) / statistics.median(seconds['direct'])
    request_ratio = statistics.median(upstream['couchgate']) / statistics.median(upstream['direct'])
    row = {}
    for way in runs:
        row[f'{way}: wall time, median (each), s'] = (
            f'{statistics.median(seconds[way]):.2f} ({", ".join(f"{s:.2f}" for s in seconds[way])})'
        )
    row['time ratio, couchgate / direct (target <= 1.5)'] = f'{time_ratio:.2f}'
    for way in runs:
        row[f'{way}: upstream requests at the front, median (each)'] = (
            f'{statistics.median(upstream[way]):g} ({", ".join(map(str, upstream[way]))})'
        )
    row['upstream request ratio, couchgate / direct (target <= 1.1)'] = f'{request_ratio:.2f}'
    for way, done in runs.items():
        last = done[-1]
        row[f'{way}: documents written / in the database, last run'] = (
            f'{last["docs_written"]} / {last["doc_count"]}'
        )
        row[f'{way}: PouchDB requests (statuses) / connections, last run'] = (
            f'{last["requests"]} ({kinds(last["statuses"])}, {last["failed"]} failed) / {last["connections"]}'
        )
        row[f'{way}: PouchDB requests by kind, last run'] = kinds(last['paths'])
        row[f'{way}: upstream requests by kind, last run'] = kinds(last['front']['kinds'])
        row[f'{way}: CPU s, last run ({" / ".join(last["cpu"])})'] = ' / '.join(
            f'{value:.2f}' for value in last['cpu'].values()
        )
    return row


def merged(answers: list[dict], field: str) -> collections.Counter[str]:
    total: collections.Counter[str] = collections.Counter()
    for answer in answers:
        total.update(answer[field])
    return total


def worker_pid(web: WebProcess) -> int:
    (pid,) = [child.pid for child in psutil.Process(web.pid).children()]  # WEB_CONCURRENCY=1
    return pid


def live(work: Path, env: dict[str, str], front: Front, web: WebProcess, pids: dict, args) -> dict[str, str]:
    session, row = requests.Session(), {}
    healthz = f'{web.url}/healthz'
    url = f'{web.url}/sync/{LIVE_DB}'
    pid = worker_pid(web)
    pids = {'worker': pid, **pids}
    one_pull(work, env, front, pids, url, KEY)  # warm: the sync routes have served a replicator once
    row['healthz p99 ms, no syncs'] = p99_ms(session, healthz, args.requests)
    worker = psutil.Process(pid)
    rss, threads, fds = proc_status_kb(pid, 'VmRSS'), worker.num_threads(), sockets(pid)
    shares = [args.syncs // args.processes + (n < args.syncs % args.processes) for n in range(args.processes)]
    started, cpu = time.monotonic(), {name: cpu_s(pid) for name, pid in pids.items()}
    clients = [node_client(work, f'live-{n}', env, 'live', url, KEY, str(k)) for n, k in enumerate(shares)]
    try:
        idle = [client.read_json(timeout=args.open_timeout) for client in clients]
        if any(answer.get('event') != 'idle' for answer in idle):
            raise RuntimeError(f'live syncs did not all catch up: {idle}')
        took = time.monotonic() - started
        cpu = {name: cpu_s(pid) - cpu[name] for name, pid in pids.items()}
        cpu['node'] = sum(cpu_s(client.proc.pid) for client in clients)
        errors = merged(idle, 'errors')
        row['syncs caught up, s after starting'] = (
            f'{args.syncs} in {took:.1f} ({kinds(dict(errors)) if errors else "no errors"})'
        )
        row['PouchDB requests (statuses) / connections until caught up'] = (
            f'{sum(a["requests"] for a in idle)} ({kinds(dict(merged(idle, "statuses")))})'
            f' / {sum(a["connections"] for a in idle)}'
        )
        row[f'CPU s until caught up ({" / ".join(cpu)})'] = ' / '.join(f'{v:.1f}' for v in cpu.values())
        time.sleep(2)
        rss_after, threads_after = proc_status_kb(pid, 'VmRSS'), worker.num_threads()
        row['worker RSS before / after, MB'] = f'{rss / 1024:.1f} / {rss_after / 1024:.1f}'
        row['KB per sync (RSS delta / syncs)'] = f'{(rss_after - rss) / args.syncs:.1f}'
        row['worker threads before / after (a pool of 8 fills on demand)'] = f'{threads} / {threads_after}'
        row['worker sockets added'] = str(sockets(pid) - fds)
        before = [client.ask('stats') for client in clients]
        front.ask('reset')
        quiet = time.monotonic()
        time.sleep(args.idle)
        upstream = front.ask('stats')
        after = [client.ask('stats') for client in clients]
        elapsed = time.monotonic() - quiet
        sent = merged(after, 'paths')
        sent.subtract(merged(before, 'paths'))
        requests_sent = sum(a['requests'] for a in after) - sum(b['requests'] for b in before)
        row[f'idle {elapsed:.0f} s: upstream requests per s'] = (
            f'{upstream["requests"] / elapsed:.2f} ({kinds(upstream["kinds"], elapsed, 2)})'
        )
        row[f'idle {elapsed:.0f} s: PouchDB requests per s'] = (
            f'{requests_sent / elapsed:.2f} ({kinds(dict(+sent), elapsed, 2)})'
        )
        connected = sum(a['connections'] for a in after) - sum(b['connections'] for b in before)
        row[f'idle {elapsed:.0f} s: PouchDB new connections per s'] = f'{connected / elapsed:.2f}'
        row['idle: connections open at the front'] = str(upstream['open'])
        row['healthz p99 ms, syncs open'] = p99_ms(session, healthz, args.requests)
        final = [client.ask('stats') for client in clients]
        row['syncs by state at the end'] = kinds(dict(merged(final, 'states')))
        errors = merged(final, 'errors')
        row['PouchDB errors, whole run'] = kinds(dict(errors)) if errors else 'none'
        row['PouchDB statuses, whole run'] = kinds(dict(merged(final, 'statuses')))
    finally:
        for client in clients:
            if client.proc.poll() is None and client.proc.stdin:
                client.proc.stdin.write('stop\n')
                client.proc.stdin.flush()
        for client in clients:
            client.stop()
    return row


def node_env(ca: Path) -> dict[str, str]:
    if not (REPO_ROOT / 'node_modules' / 'pouchdb').is_dir() and 'NODE_PATH' not in os.environ:
        sys.exit('bench.sync needs pouchdb and pouchdb-adapter-memory in node_modules (npm install)')
    if shutil.which('node') is None:
        sys.exit('bench.sync needs node on PATH')
    return dict(os.environ, NODE_EXTRA_CA_CERTS=str(ca))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.sync', description=__doc__.split('\n')[0])
    parser.add_argument('--parts', nargs='+', choices=('pull', 'live'), default=['pull', 'live'])
    parser.add_argument('--docs', type=int, default=10_000)
    parser.add_argument('--runs', type=int, default=3, help='pulls each way')
    parser.add_argument('--syncs', type=int, default=1000, help='live syncs held open')
    parser.add_argument('--processes', type=int, default=2, help='node processes the live syncs share')
    parser.add_argument('--requests', type=int, default=300, help='per p99')
    parser.add_argument('--idle', type=float, default=30.0, help='seconds of quiet counted at the front')
    parser.add_argument('--open-timeout', type=float, default=300.0, help='seconds for all to catch up')
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # node and the worker inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.syncs + 1000)), hard))
    work = Path(tempfile.mkdtemp(prefix='bench-sync-'))
    ca, front_pem = trustme.CA(), work / 'front.pem'
    ca.cert_pem.write_to_path(str(work / 'ca.pem'))
    ca.issue_cert('127.0.0.1').private_key_and_cert_chain_pem.write_to_path(str(front_pem))
    client_env = node_env(work / 'ca.pem')
    env = {
        'CLOUDANT_CA_BUNDLE': str(work / 'ca.pem'),
        'CLOUDANT_DATABASES': f'{PULL_DB},{LIVE_DB}',
        'API_KEYS': API_KEYS,
        'WEB_CONCURRENCY': '1',
        'GUNICORN_THREADS': '8',
    }
    with PouchServer(work / 'pouch') as pouch:
        admin = CouchAdmin(pouch.url, timeout=60)
        ids = [f'doc-{n:05d}' for n in range(1, args.docs + 1)]
        seed(admin, PULL_DB, [PREFIX + i for i in ids])
        seed(admin, DIRECT_DB, ids)
        seed(admin, LIVE_DB, [f'{PREFIX}live-{n}' for n in range(LIVE_DOCS)])
        front = Front(pouch.port, front_pem, front_stats)
        env['CLOUDANT_URL'] = front.url
        assert pouch.pid is not None and front.process.pid is not None
        others = {'pouchdb-server': pouch.pid, 'front': front.process.pid}
        tables = []
        try:
            for part in args.parts:
                with WebProcess(**env) as web:  # a fresh dyno for each part
                    web.wait_ready('/readyz')
                    measure = pulls if part == 'pull' else live
                    title = (
                        f'pull of {args.docs} documents'
                        if part == 'pull'
                        else f'{args.syncs} idle live syncs'
                    )
                    tables.append((title, measure(work, client_env, front, web, others, args)))
        finally:
            front.stop()
    command = f'python -m bench.sync {" ".join(sys.argv[1:])}'.strip()
    print(f'`{command}`: 1 worker x 8 threads, PouchDB 9 (memory adapter)')
    for title, row in tables:
        print(f'\n| {title} | |\n|---|---:|')
        for name, value in row.items():
            print(f'| {name} | {value} |')


if __name__ == '__main__':
    main()
