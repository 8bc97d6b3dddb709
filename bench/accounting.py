"""Where couchgate's CPU beyond the pass-through's goes, per request, over a fixed number of requests.

    python -m bench.accounting [--workload ids] [--requests 3000] [--clients 16] [--repeat 3]

Both targets run side by side (2 workers x 8 threads each, warmed up). `--repeat` times, in turn:
user and system CPU of each target's gunicorn processes (the kernel's rusage, psutil) and the
context switches of all their threads over exactly `--requests` requests. Then per target one run
under `strace -c -f` (syscalls per request: counts only, strace's slowdown makes its times
useless) and one under py-spy with twice the requests: Python CPU by layer (`--gil`: the thread
holding the GIL; layers as bench/layers.py draws them). That Python CPU plus the system time is
checked against the measured difference. (py-spy without `--gil` counts threads blocked in a
socket with a timeout as busy: 2.8 ms off, no use here.) Writes bench/results/accounting.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench import layers
from bench.chain import UpstreamChain
from bench.loadgen import run_load
from bench.processes import REPO_ROOT
from bench.profile import PY_SPY, RATE, parse_raw
from bench.targets import running
from bench.workloads import workloads

TARGETS = ('pass-through', 'couchgate')


def _processes(service) -> list[psutil.Process]:
    root = psutil.Process(service.proc.pid)
    return [root, *root.children(recursive=True)]


def _counters(service) -> collections.Counter[str]:
    total: collections.Counter[str] = collections.Counter()
    for p in _processes(service):
        times = p.cpu_times()
        total.update(user=times.user, system=times.system, **_switches(p.pid))
    return total


def _switches(pid: int) -> dict[str, int]:
    """Context switches of every thread of the process (psutil's figure is the main thread's only)."""
    found = {'voluntary': 0, 'involuntary': 0}
    for status in Path(f'/proc/{pid}/task').glob('*/status'):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # a thread that ended
        for line in lines:
            name, _, value = line.partition(':')
            if name.endswith('_ctxt_switches'):
                found[name.removesuffix('_ctxt_switches').replace('non', 'in')] += int(value)
    return found


def cpu_run(target, load: dict, args) -> dict:
    """CPU ms (user, system) and context switches per request over `--requests` requests."""
    before, load_avg = _counters(target.service), os.getloadavg()[0]
    done = run_load(connections=args.clients, seconds=1, amount=args.requests, **load)
    after = _counters(target.service)
    n = done['requests']
    return {
        'requests': n,
        'errors': done['errors'],
        'p50_ms': done['p50_ms'],
        'load': load_avg,
        **{k: (after[k] - before[k]) / n * (1000 if k in ('user', 'system') else 1) for k in after},
    }


def syscalls(target, load: dict, args, work: Path) -> dict[str, float]:
    """Syscalls per request by name, all the target's processes, counted by strace -c -f."""
    out = work / f'strace-{target.name.replace(" ", "-")}.txt'
    pids = [str(p.pid) for p in _processes(target.service)]
    strace = subprocess.Popen(
        ['strace', '-c', '-f', '-o', str(out), *[a for pid in pids for a in ('-p', pid)]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached
    done = run_load(connections=args.clients, seconds=1, amount=args.requests, **load)
    strace.send_signal(2)  # SIGINT: detach and write the summary
    strace.wait(timeout=60)
    counts: dict[str, float] = {}
    for line in out.read_text().splitlines():
        m = re.match(r'\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$', line)
        if m and m.group(2) != 'total':
            counts[m.group(2)] = int(m.group(1)) / done['requests']
    return counts


def python_layers(target, load: dict, args, work: Path) -> dict[str, float]:
    """Python CPU ms per request by layer (py-spy, GIL held), over twice the fixed count."""
    raw = work / f'accounting-{target.name.replace(" ", "-")}.txt'
    options = ['--subprocesses', '--gil', '--nonblocking', '--rate', str(RATE)]
    options += ['--format', 'raw', '--output', str(raw)]
    spy = subprocess.Popen(
        [str(PY_SPY), 'record', '--pid', str(target.service.proc.pid), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)  # attached to every worker
    done = run_load(connections=args.clients, seconds=1, amount=2 * args.requests, **load)
    spy.send_signal(2)
    spy.communicate(timeout=60)
    stacks = parse_raw(raw.read_text())
    per_sample = 1000 / RATE / done['requests']
    return {name: count * per_sample for name, count in layers.by_layer(stacks).items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.accounting', description=__doc__.split('\n')[0])
    parser.add_argument('--workload', default='ids')
    parser.add_argument('--requests', type=int, default=3000, help='per run (py-spy: twice as many)')
    parser.add_argument('--clients', type=int, default=16)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--docs', type=int, default=2000)
    parser.add_argument('--targets', default=','.join(TARGETS))
    parser.add_argument('--couchgate-env', action='append', default=[], metavar='NAME=VALUE')
    parser.add_argument('--no-strace', action='store_true')
    parser.add_argument('--no-py-spy', action='store_true')
    parser.add_argument('--out', type=Path, default=REPO_ROOT / 'bench' / 'results' / 'accounting.md')
    args = parser.parse_args(argv)
    workload = workloads()[args.workload]
    work = REPO_ROOT / 'bench' / 'work'
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    found: dict[str, dict] = {}
    with UpstreamChain(work, docs=args.docs, rtt_ms=20) as chain, contextlib.ExitStack() as stack:
        targets = {}
        for name in args.targets.split(','):
            env = dict(pair.split('=', 1) for pair in args.couchgate_env) if name == 'couchgate' else None
            target = stack.enter_context(running(name, chain, work, workers=2, threads=8, extra_env=env))
            targets[name] = (target, target.load(workload))
            run_load(connections=args.clients, seconds=2, **targets[name][1])  # warm-up
            found[name] = {'cpu': []}
        for _ in range(args.repeat):  # interleaved: the machine's load drifts alike for both
            for name, (target, load) in targets.items():
                found[name]['cpu'].append(cpu_run(target, load, args))
        for name, (target, load) in targets.items():
            if not args.no_strace and shutil.which('strace'):
                found[name]['syscalls'] = syscalls(target, load, args, work)
            if not args.no_py_spy:
                found[name]['layers'] = python_layers(target, load, args, work)
            print(name, found[name]['cpu'], flush=True)
    text = report(found, args, workload.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


def _mean(runs: list[dict], key: str) -> float:
    return sum(r[key] for r in runs) / len(runs)


def _spread(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    return f'{min(values):.3f}–{max(values):.3f}' if len(values) > 1 else f'{values[0]:.3f}'


def report(found: dict, args, title: str) -> str:
    lines = [
        f'`python -m bench.accounting {" ".join(sys.argv[1:])}`: {title}, {args.requests} requests '
        f'at {args.clients} clients per run, {args.repeat} runs per target; load average at each run start.',
        '',
        '| target | user ms/req | system ms/req | user+system ms/req | voluntary switches/req '
        '| involuntary/req | p50 ms | load |',
        '|---|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for name, f in found.items():
        runs = f['cpu']
        for r in runs:
            r['total'] = r['user'] + r['system']
        loads = ', '.join(f'{r["load"]:.1f}' for r in runs)
        lines.append(
            f'| {name} | {_spread(runs, "user")} | {_spread(runs, "system")} | {_spread(runs, "total")} '
            f'| {_mean(runs, "voluntary"):.1f} | {_mean(runs, "involuntary"):.1f} '
            f'| {_spread(runs, "p50_ms")} | {loads} |'
        )
    if len(found) == 2 and all('layers' in f for f in found.values()):
        (a, b) = found.values()
        measured = _mean(b['cpu'], 'total') - _mean(a['cpu'], 'total')
        system = _mean(b['cpu'], 'system') - _mean(a['cpu'], 'system')
        python = sum(b['layers'].values()) - sum(a['layers'].values())
        lines += [
            '',
            f'Difference, means of the runs: {measured:.3f} ms per request of user + system CPU '
            f'({system:+.3f} of it system). Python CPU by py-spy (GIL held) {python:+.3f} plus the '
            f'system time {system:+.3f} = {python + system:+.3f} ({python + system - measured:+.3f} off).',
        ]
    if len(found) == 2 and all('layers' in f for f in found.values()):
        lines += _shared(found)
    if len(found) == 2:
        lines += _difference(found, 'syscalls', 'syscalls per request (strace -c -f)', '.2f')
        lines += _difference(found, 'layers', 'Python CPU ms per request by layer (py-spy, GIL held)', '.3f')
    return '\n'.join(lines) + '\n'


def _shared(found: dict) -> list[str]:
    """The measured difference by layer: system time as measured, user time shared out as py-spy's
    samples are (py-spy's own totals move with the machine's load; the kernel's do not)."""
    a, b = found.values()
    user = _mean(b['cpu'], 'user') - _mean(a['cpu'], 'user')
    system = _mean(b['cpu'], 'system') - _mean(a['cpu'], 'system')
    diff = {k: b['layers'].get(k, 0) - a['layers'].get(k, 0) for k in set(a['layers']) | set(b['layers'])}
    scale = user / (sum(diff.values()) or 1)
    lines = [
        '',
        '| layer | py-spy difference, ms | measured difference, ms |',
        '|---|---:|---:|',
    ]
    for k in sorted(diff, key=lambda k: -diff[k]):
        lines.append(f'| {k} | {diff[k]:+.3f} | {diff[k] * scale:+.3f} |')
    lines.append(f'| system CPU (the kernel: syscalls, GIL hand-offs) | – | {system:+.3f} |')
    lines.append(f'| **all** | {sum(diff.values()):+.3f} | {user + system:+.3f} |')
    return lines


def _difference(found: dict, key: str, title: str, form: str) -> list[str]:
    if not all(key in f for f in found.values()):
        return []
    a, b = (found[n][key] for n in found)
    names = sorted(set(a) | set(b), key=lambda k: -(b.get(k, 0) - a.get(k, 0)))
    lines = ['', f'| {title} | ' + ' | '.join(found) + ' | difference |', '|---|---:|---:|---:|']
    for k in [*names, '**all**']:
        x, y = (sum(d.values()) if k == '**all**' else d.get(k, 0) for d in (a, b))
        lines.append(f'| {k} | {x:{form}} | {y:{form}} | {y - x:+{form}} |')
    return lines


if __name__ == '__main__':
    main()
