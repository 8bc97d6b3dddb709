"""`make bench-profile`: where a target's workers (couchgate's by default) spend CPU under load (py-spy).

py-spy samples every worker thread that holds the GIL (`--gil`): Python CPU time, not threads
waiting on the network. The summary ranks functions by their own samples and by inclusive ones.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

from bench import layers
from bench.loadgen import run_load
from bench.targets import running

PY_SPY = Path(sys.executable).parent / 'py-spy'
RATE = 200  # samples per second and thread


def profile_target(chain, work: Path, args, out: Path) -> dict:
    name = args.targets[0] if len(args.targets) == 1 else 'couchgate'
    raw = work / f'profile-{name.replace(" ", "-")}.txt'
    workload_name, workload = next(iter(args.workloads.items()))
    with running(name, chain, work, workers=args.workers, threads=args.threads) as target:
        load = target.load(workload)
        run_load(connections=args.concurrency, seconds=max(args.warmup, 2), **load)
        assert target.service is not None
        spy = subprocess.Popen(
            [
                str(PY_SPY),
                'record',
                '--pid',
                str(target.service.proc.pid),
                '--subprocesses',
                '--gil',
                '--nonblocking',
                '--rate',
                str(RATE),
                '--duration',
                str(args.duration),
                '--format',
                'raw',
                '--output',
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        measured = run_load(connections=args.concurrency, seconds=args.duration, **load)
        _, errors = spy.communicate(timeout=args.duration + 60)
        if spy.returncode != 0:
            raise RuntimeError(f'py-spy failed: {errors[-2000:]}')
    summary = f'{name}, {workload.name}, {args.concurrency} clients, {args.duration} s.\n\n' + summarize(
        raw.read_text(), requests=measured['requests']
    )
    (out / 'profile.md').parent.mkdir(parents=True, exist_ok=True)
    (out / 'profile.md').write_text(summary)
    print(summary, flush=True)
    return {'workload': workload_name, 'requests': measured['requests'], 'rps': measured['rps']}


def parse_raw(raw: str) -> list[tuple[list[str], int]]:
    """py-spy's raw output as (frames, outermost first, without line numbers; samples)."""
    stacks: list[tuple[list[str], int]] = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(' ')
        if not stack or not count.isdigit():
            continue  # the rest of a frame whose name holds a line break
        frames = [re.sub(r':\d+\)$', ')', f) for f in stack.split(';') if not f.startswith('process ')]
        if frames:
            stacks.append((frames, int(count)))
    return stacks


def summarize(raw: str, *, requests: int, top: int = 20) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    stacks = parse_raw(raw)
    for frames, count in stacks:
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    ms = 1000 * total / RATE / max(requests, 1)
    lines = [
        f'py-spy, {total} samples of GIL-holding worker threads at {RATE}/s over {requests} requests: '
        f'{ms:.2f} ms of Python CPU per request.',
        '',
        'By layer (each sample counted once, for the innermost library in its stack: bench/layers.py):',
        '',
        *layers.table(stacks, 1000 / RATE / max(requests, 1)),
        '',
        'By function:',
        '',
        '| own % | function | | inclusive % | function |',
        '|---:|---|---|---:|---|',
    ]
    for (o_name, o), (i_name, i) in zip(
        own.most_common(top), _interesting(inclusive).most_common(top), strict=False
    ):
        lines.append(f'| {100 * o / total:.1f} | `{o_name}` | | {100 * i / total:.1f} | `{i_name}` |')
    return '\n'.join(lines) + '\n'


def _interesting(inclusive: collections.Counter) -> collections.Counter:
    # Thread and gunicorn plumbing is in every stack; it says nothing.
    boring = (
        'threading.py',
        'concurrent/futures',
        'gthread.py',
        'arbiter.py',
        'app/base.py',
        'wsgiapp.py',
        '<module> (gunicorn',
        'workers/base.py',
    )
    return collections.Counter({k: v for k, v in inclusive.items() if not any(b in k for b in boring)})
