"""The load generator: autocannon (pinned in package.json), keep-alive connections, fixed duration."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

from bench.processes import REPO_ROOT, base_env

AUTOCANNON = REPO_ROOT / 'node_modules' / 'autocannon' / 'autocannon.js'


def run_load(
    url: str,
    *,
    connections: int,
    seconds: int,
    ca: Path | None = None,
    method: str = 'GET',
    body: str | None = None,
    headers: dict | None = None,
    amount: int | None = None,
) -> dict:
    """`connections` clients, each sending its next request as soon as the last one is answered;
    for `seconds`, or until `amount` requests in all (a fixed count: CPU and syscalls per request)."""
    if not url.startswith(('http://127.0.0.1:', 'https://127.0.0.1:')):
        raise ValueError(f'the benchmark only loads loopback targets, not {url}')
    command = [
        'node',
        str(AUTOCANNON),
        '--json',
        '--connections',
        str(connections),
        '--duration',
        str(seconds),
        '--timeout',
        '10',
    ]
    if amount is not None:
        command += ['--amount', str(amount)]
    if ca is not None:
        command += ['--ca', str(ca)]
    command += ['--method', method] + (['--body', body] if body is not None else [])
    for name, value in (headers or {}).items():
        command += ['--headers', f'{name}={value}']
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [*command, url],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=seconds + 600 if amount else seconds + 60,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f'autocannon failed ({done.returncode}): {done.stderr[-2000:]}')
    result = json.loads(done.stdout.strip().splitlines()[-1])
    latency = result['latency']
    elapsed = result['duration']
    ok = result['requests']['total'] - result['non2xx']
    return {
        'connections': connections,
        'seconds': elapsed,
        'requests': result['requests']['total'],
        'rps': round(ok / elapsed, 1),
        'p50_ms': latency['p50'],
        'p90_ms': latency['p90'],
        'p99_ms': latency['p99'],
        'max_ms': latency['max'],
        'errors': result['errors'] + result['timeouts'] + result['non2xx'],
        'bytes_per_request': round(result['throughput']['total'] / max(result['requests']['total'], 1)),
        # The only child that ends between the two readings is autocannon itself.
        'loadgen_cpu_s': round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
    }
