"""`make bench`'s capacity scenario: mixed traffic at 3x one Standard block through the capacity
emulator, for the seed's module-level client, couchgate without the guard and couchgate with it;
then what the guard costs when there is room. python -m bench.capacity [--seconds 30] [--load 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
from pathlib import Path

import psutil
import redis

from bench.processes import REPO_ROOT, Service, base_env, wait_http
from tests.support.capacity_emulator import CapacityEmulator
from tests.support.offered_load import Answer, offer
from tests.support.pouch import CouchAdmin, PouchServer, free_port
from tests.support.redis_server import RedisServer

DB = 'capacity'
BLOCK = {'read': 100, 'write': 50, 'query': 5}  # one Standard block per second
KEY = 'bench-key-0123456789abcdef'
TARGETS = ('module-level client', 'couchgate, no guard', 'couchgate + guard')


@contextlib.contextmanager
def target(
    name: str, emulator: CapacityEmulator, work: Path, redis_url: str | None, margin: str | None = None
):
    port = free_port()
    if name == 'module-level client':
        command = [
            sys.executable,
            '-m',
            'gunicorn',
            '-k',
            'gthread',
            '-w',
            '2',
            '--threads',
            '8',
            '-b',
            f'127.0.0.1:{port}',
            '--no-control-socket',
            'bench.capacity_naive:app',
        ]
        env = base_env(CLOUDANT_URL=emulator.url)
    else:
        command = ['/bin/sh', '-c', 'exec gunicorn --config gunicorn.conf.py api.wsgi:app']
        env = base_env(
            PORT=str(port),
            WEB_CONCURRENCY='2',
            GUNICORN_THREADS='8',
            CLOUDANT_URL=emulator.url,
            CLOUDANT_DATABASES=DB,
            API_KEYS=f'bench:{KEY}',
            LOG_LEVEL='WARNING',
        )
        if margin:
            env['CLOUDANT_CAPACITY_MARGIN'] = margin
        if redis_url:
            env.update(
                REDIS_URL=redis_url,
                CLOUDANT_CAPACITY='reads={read},writes={write},queries={query}'.format(**BLOCK),
            )
    service = Service(name.replace(' ', '-').replace(',', '').replace('+', 'with'), command, work, env=env)
    try:
        base = f'http://127.0.0.1:{port}'
        wait_http(f'{base}/v1/{DB}/docs/doc-0001', service, headers={'Authorization': f'Bearer {KEY}'})
        yield base, service
    finally:
        service.stop()


def traffic(base: str) -> dict:
    auth = {'Authorization': f'Bearer {KEY}'}
    n = iter(range(10**9))
    return {
        'read': lambda s: s.get(f'{base}/v1/{DB}/docs/doc-{next(n) % 1000:04d}', headers=auth, timeout=30),
        'write': lambda s: s.post(f'{base}/v1/{DB}/docs', json={'n': next(n)}, headers=auth, timeout=30),
        'query': lambda s: s.get(f'{base}/v1/{DB}/docs?limit=10', headers=auth, timeout=30),
    }


def mixed(base: str, load: float, seconds: float) -> dict[str, list[Answer]]:
    answers: dict[str, list[Answer]] = {}
    requests_of = traffic(base)
    threads = [
        threading.Thread(
            target=lambda c=c: answers.update({c: offer(requests_of[c], load * BLOCK[c], seconds)})
        )
        for c in BLOCK
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def summary(name: str, emulator: CapacityEmulator, answers: dict[str, list[Answer]], seconds: float) -> dict:
    row: dict = {'target': name}
    for c, limit in BLOCK.items():
        admitted = emulator.per_second(c)
        steady = admitted[1:-1] or admitted  # whole seconds only
        row[f'{c} upstream 429'] = emulator.refused[c]
        row[f'{c} used'] = f'{100 * statistics.mean(steady) / limit:.0f} %' if steady else '0 %'
        row[f'{c} max/s'] = emulator.most_in_any_second(c)
        row[f'{c} client 429'] = sum(a.status == 429 for a in answers[c])
        row[f'{c} client 5xx'] = sum(a.status >= 500 or a.status == 0 for a in answers[c])
    every = sorted(a.seconds for answers_of in answers.values() for a in answers_of)
    row['p50 ms'] = round(1000 * every[len(every) // 2], 1)
    row['p99 ms'] = round(1000 * every[int(len(every) * 0.99)], 1)
    return row


def cpu_seconds(service: Service) -> float:
    procs = [psutil.Process(service.proc.pid)]
    procs += procs[0].children(recursive=True)
    return sum(p.cpu_times().user + p.cpu_times().system for p in procs)


def cost(base: str, service: Service, seconds: float, redis_url: str | None, emulator) -> dict:
    """Reads at half the read capacity (always room): CPU ms and p50 per request, Redis calls per call."""
    before_cpu, before_up = cpu_seconds(service), sum(len(emulator.admitted(c)) for c in BLOCK)
    client = redis.Redis.from_url(redis_url) if redis_url else None
    before_redis = _redis_calls(client)
    answers = offer(traffic(base)['read'], BLOCK['read'] / 2, seconds)
    upstream = sum(len(emulator.admitted(c)) for c in BLOCK) - before_up
    return {
        'cpu ms/request': round(1000 * (cpu_seconds(service) - before_cpu) / len(answers), 2),
        'p50 ms': round(1000 * statistics.median(a.seconds for a in answers), 2),
        'redis calls/upstream call': round((_redis_calls(client) - before_redis) / max(upstream, 1), 2)
        if client
        else 0,
    }


def _redis_calls(client) -> int:
    if client is None:
        return 0
    # Round trips: limits runs each operation as one script; commandstats also counts its inner calls.
    stats = client.info('commandstats')
    return sum(v['calls'] for k, v in stats.items() if k in ('cmdstat_evalsha', 'cmdstat_eval'))


def measure(
    seconds: float = 30,
    load: float = 3,
    cost_seconds: float = 10,
    margin: str | None = None,
    targets: tuple[str, ...] = TARGETS,
) -> dict:
    work = REPO_ROOT / 'bench' / 'work' / 'capacity'
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {'seconds': seconds, 'load': load, 'margin': margin or 'default', 'runs': [], 'cost': {}}
    with PouchServer(work / 'pouch') as pouch, RedisServer() as redis_server:
        admin = CouchAdmin(pouch.url)
        admin.put(DB)
        admin.post(f'{DB}/_bulk_docs', json={'docs': [{'_id': f'doc-{i:04d}', 'n': i} for i in range(1000)]})
        for name in targets:
            redis_url = redis_server.url if '+' in name else None
            with (
                CapacityEmulator(pouch.url, **BLOCK) as emulator,
                target(name, emulator, work, redis_url, margin) as (base, _),
            ):
                emulator.reset()
                row = summary(name, emulator, mixed(base, load, seconds), seconds)
                print('  ' + ', '.join(f'{k} {v}' for k, v in row.items()), flush=True)
                results['runs'].append(row)
        for name in [t for t in targets if t != TARGETS[0]]:
            redis_url = redis_server.url if '+' in name else None
            with (
                CapacityEmulator(pouch.url, **BLOCK) as emulator,
                target(name, emulator, work, redis_url, margin) as (base, service),
            ):
                offer(traffic(base)['read'], 20, 2)  # warm-up
                results['cost'][name] = cost(base, service, cost_seconds, redis_url, emulator)
                print(f'  cost {name}: {results["cost"][name]}', flush=True)
    return results


def markdown(results: dict) -> str:
    runs = results['runs']
    keys = list(runs[0])
    lines = [
        f'Mixed traffic at {results["load"]}x one Standard block (100 reads, 50 writes, 5 queries per s), '
        f'{results["seconds"]} s, through the capacity emulator (CLOUDANT_CAPACITY_MARGIN: '
        f'{results["margin"]}):',
        '',
        '| ' + ' | '.join(keys) + ' |',
        '|' + '---|' * len(keys),
    ]
    lines += ['| ' + ' | '.join(str(r[k]) for k in keys) + ' |' for r in runs]
    lines += [
        '',
        'What the guard costs when there is room (reads at half the capacity):',
        '',
        '| target | CPU ms/request | p50 ms | Redis calls per upstream call |',
        '|---|---|---|---|',
    ]
    lines += [
        f'| {n} | {c["cpu ms/request"]} | {c["p50 ms"]} | {c["redis calls/upstream call"]} |'
        for n, c in results['cost'].items()
    ]
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.capacity', description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=30)
    parser.add_argument('--load', type=float, default=3, help='offered, in Standard blocks (%(default)s)')
    parser.add_argument('--cost-seconds', type=float, default=10)
    parser.add_argument('--margin', help='CLOUDANT_CAPACITY_MARGIN for couchgate (its default if unset)')
    parser.add_argument('--guard-only', action='store_true', help='only couchgate with the guard')
    parser.add_argument('--out', type=Path, default=REPO_ROOT / 'bench' / 'results' / 'capacity.md')
    args = parser.parse_args(argv)
    targets = TARGETS[2:] if args.guard_only else TARGETS
    text = markdown(measure(args.seconds, args.load, args.cost_seconds, args.margin, targets))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == '__main__':
    main()
