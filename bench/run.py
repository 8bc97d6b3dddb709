"""`make bench`: four workloads against five targets at 1 and 16 clients, and an export, in one run.

python -m bench.run [--duration 5] [--rtt-ms 20] [--clients 1,16] [--workloads document,ids,docs,write] ...
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from bench import bulk, capacity
from bench.chain import UpstreamChain
from bench.export_run import measure_export
from bench.loadgen import run_load
from bench.processes import REPO_ROOT
from bench.profile import profile_target
from bench.report import write_all
from bench.targets import TARGETS, running
from bench.workloads import workloads

DEFAULT_OUT = REPO_ROOT / 'bench' / 'results'


def measure(target, workload: str, chain: UpstreamChain, args, connections: int) -> dict:
    load = target.load(args.workloads[workload])
    chain.cold_start()  # connections are counted from a cold start, warm-up included
    run_load(connections=connections, seconds=args.warmup, **load)
    app_cpu, upstream_cpu, busy = _cpu(target), chain.cpu_seconds(), _machine_busy()
    asked, wall = chain.front_counts()['requests'], time.monotonic()
    result = run_load(connections=connections, seconds=args.duration, **load)
    app_cpu, upstream_cpu = _cpu(target) - app_cpu, chain.cpu_seconds() - upstream_cpu
    asked = chain.front_counts()['requests'] - asked
    busy, wall = _machine_busy() - busy, time.monotonic() - wall
    result.update(
        target=target.name,
        workload=workload,
        tls_connections=chain.front_counts()['accepted'],
        # 1.0 when each API request costs one upstream request (a page crossing design documents too)
        upstream_per_request=round(asked / max(result['requests'], 1), 3),
        app_cpu_s=round(app_cpu, 2),
        upstream_cpu_s=round(upstream_cpu, 2),
        app_cpu_ms_per_request=round(1000 * app_cpu / max(result['requests'], 1), 3),
        machine_busy_pct=round(100 * busy / ((os.cpu_count() or 1) * wall)),
        # CPU the machine spent on anything but this benchmark (other jobs): noise
        other_cpu_s=round(max(0.0, busy - app_cpu - upstream_cpu - result['loadgen_cpu_s']), 2),
    )
    print(
        f'  {target.name:>20} {workload:>8} @ {connections:>2}: {result["rps"]:7.1f} req/s  '
        f'p50 {result["p50_ms"]:>5} ms  p99 {result["p99_ms"]:>5} ms  '
        f'CPU {result["app_cpu_ms_per_request"]:6.2f} ms/req  errors {result["errors"]}  '
        f'TLS {result["tls_connections"]}  upstream/req {result["upstream_per_request"]}  '
        f'machine {result["machine_busy_pct"]}% busy, '
        f'{result["other_cpu_s"]} s CPU not ours',
        flush=True,
    )
    return result


def _options(args, name: str) -> dict:
    env = dict(pair.split('=', 1) for pair in args.couchgate_env) if name == 'couchgate' else None
    return {'workers': args.workers, 'threads': args.threads, 'extra_env': env}


def interleaved(chain: UpstreamChain, work: Path, args) -> list[dict]:
    """Every target running at once, measured in turn, `--rounds` times: the machine's load drifts
    alike for all of them. One run per target, workload and clients: the medians, with the ranges."""
    rounds: list[dict] = []
    with contextlib.ExitStack() as stack:
        targets = [stack.enter_context(running(n, chain, work, **_options(args, n))) for n in args.targets]
        for _ in range(args.rounds):
            for workload in args.workloads:
                for connections in args.clients:
                    rounds += [measure(target, workload, chain, args, connections) for target in targets]
    runs = []
    for key in dict.fromkeys((r['target'], r['workload'], r['connections']) for r in rounds):
        same = [r for r in rounds if (r['target'], r['workload'], r['connections']) == key]
        run = dict(same[0])
        for field, value in same[0].items():
            if isinstance(value, int | float) and field != 'connections':
                run[field] = round(statistics.median(r[field] for r in same), 3)
        # What the goals judge of these: every round's errors, the most connections any opened.
        run['errors'] = sum(r['errors'] for r in same)
        run['tls_connections'] = max(r['tls_connections'] for r in same)
        run['rounds'] = len(same)
        for field in ('app_cpu_ms_per_request', 'rps', 'p50_ms'):
            run[f'{field}_range'] = [min(r[field] for r in same), max(r[field] for r in same)]
        runs.append(run)
    return runs


def _cpu(target) -> float:
    return target.service.cpu_seconds() if target.service else 0.0


def _machine_busy() -> float:
    """CPU seconds the whole machine (all cores) spent busy so far."""
    times = psutil.cpu_times()._asdict()
    # guest time is already part of user time; idle and iowait are not busy
    return sum(v for k, v in times.items() if k not in ('idle', 'iowait', 'guest', 'guest_nice'))


def machine() -> dict:
    cpu = next(
        (
            line.split(':', 1)[1].strip()
            for line in Path('/proc/cpuinfo').read_text().splitlines()
            if line.startswith('model name')
        ),
        platform.processor() or 'unknown CPU',
    )
    node = subprocess.run(['node', '--version'], capture_output=True, text=True, timeout=30).stdout.strip()
    return {
        'cpu': cpu,
        'cores': os.cpu_count(),
        'memory_gb': round(psutil.virtual_memory().total / 2**30, 1),
        'os': f'{platform.system()} {platform.release()}',
        'python': platform.python_version(),
        'node': node.lstrip('v'),
        'load_before': _load(),
    }


def _load() -> str:
    return ' / '.join(f'{n:.2f}' for n in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.run', description=__doc__.split('\n')[0])
    parser.add_argument('--duration', type=int, default=5, help='seconds per measured run (%(default)s)')
    parser.add_argument('--warmup', type=int, default=1, help='seconds of warm-up per run (%(default)s)')
    parser.add_argument('--rtt-ms', type=float, default=20.0, help='round trip to the upstream (%(default)s)')
    parser.add_argument('--clients', default='1,16', help='clients, a run per level (%(default)s)')
    parser.add_argument('--docs', type=int, default=100_000, help='data set and export size (%(default)s)')
    parser.add_argument('--limit', type=int, default=100, help='documents per listing (%(default)s)')
    parser.add_argument('--workloads', default=','.join(workloads()), help='a subset, comma-separated')
    parser.add_argument('--targets', default=','.join(TARGETS), help='a subset, comma-separated')
    parser.add_argument(
        '--rounds',
        type=int,
        default=1,
        help='above 1: all targets at once, measured in turn this many times; medians and ranges',
    )
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--threads', type=int, default=8)
    parser.add_argument('--no-export', action='store_true')
    parser.add_argument('--capacity-seconds', type=float, default=30, help='bench/capacity.py; 0: skip')
    parser.add_argument('--bulk-docs', type=int, default=10_000, help='bench/bulk.py import; 0: skip')
    parser.add_argument(
        '--couchgate-env',
        action='append',
        default=[],
        metavar='NAME=VALUE',
        help='a setting for couchgate (repeatable), e.g. a feature whose cost to measure on its own run',
    )
    parser.add_argument(
        '--profile',
        action='store_true',
        help='instead: py-spy couchgate (or the one --targets) under the first workload, write profile.md',
    )
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.clients = sorted({int(n) for n in args.clients.split(',')})
    args.concurrency = max(args.clients)  # the goals' main figures
    every = workloads(args.limit)
    chosen = args.workloads.split(',')
    if unknown := set(chosen) - set(every):
        parser.error(f'unknown workloads {sorted(unknown)}: choose from {",".join(every)}')
    args.workloads = {name: every[name] for name in chosen}
    args.targets = [name for name in TARGETS if name in args.targets.split(',')]
    if not 1 <= args.concurrency <= 256 or not 1 <= args.duration <= 600:
        parser.error('clients must be 1..256 and duration 1..600 s')

    work = REPO_ROOT / 'bench' / 'work'
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        'generated': datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC'),
        'machine': machine(),
        'config': {
            'rtt_ms': args.rtt_ms,
            'duration_s': args.duration,
            'warmup_s': args.warmup,
            'workers': args.workers,
            'threads': args.threads,
            'concurrency': args.concurrency,
            'clients': args.clients,
            'rounds': args.rounds,
            'docs': args.docs,
            'limit': args.limit,
            'workloads': {name: w.name for name, w in args.workloads.items()},
            'couchgate_env': args.couchgate_env,  # beyond production defaults, if any
        },
        'runs': [],
    }
    print(
        f'bench: loading {args.docs:,} documents, starting the upstream ({args.rtt_ms:g} ms RTT)', flush=True
    )
    with UpstreamChain(work, docs=args.docs, rtt_ms=args.rtt_ms) as chain:
        if args.profile:
            profile_target(chain, work, args, args.out)
            return
        # Each target started once, fresh, for all its runs; connections closed before each run.
        if args.rounds == 1:
            for name in args.targets:
                with running(name, chain, work, **_options(args, name)) as target:
                    for workload in args.workloads:
                        for connections in args.clients:
                            results['runs'].append(measure(target, workload, chain, args, connections))
        else:
            results['runs'] = interleaved(chain, work, args)
        if not args.no_export:
            print('bench: export', flush=True)
            results['export'] = measure_export(chain, work, threads=args.threads)
            print(f'  {results["export"]}', flush=True)
    if args.capacity_seconds:  # its own servers and report: bench/results/capacity.md
        capacity.main(['--seconds', str(args.capacity_seconds)])
    if args.bulk_docs:  # its own servers; prints its table
        bulk.main(['--docs', str(args.bulk_docs)])
    results['machine']['load_after'] = _load()
    results['seconds'] = round(time.monotonic() - started)
    # docs/performance.md shows the latest full run; a partial one (--targets) leaves it alone.
    full = (
        args.targets == list(TARGETS)
        and list(args.workloads) == list(every)
        and not args.couchgate_env
        and args.out == DEFAULT_OUT
    )
    write_all(results, args.out, page=REPO_ROOT / 'docs' / 'performance.md' if full else None)
    print((args.out / 'results.md').read_text())
    print(f'bench: done in {results["seconds"]} s; results in {args.out}')


if __name__ == '__main__':
    main()
