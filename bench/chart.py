"""The benchmark's chart: CPU per request and p50 latency of each target, per workload."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # files only, no display
import matplotlib.pyplot as plt

from bench.targets import TARGETS


def chart(results: dict, path: Path) -> None:
    c = results['config']
    workloads = list(c['workloads'])
    fig, (cpu_ax, p50_ax) = plt.subplots(1, 2, figsize=(12, 4.4))
    width = 0.8 / len(TARGETS)
    for i, target in enumerate(TARGETS):
        xs = [w + (i - len(TARGETS) / 2 + 0.5) * width for w in range(len(workloads))]
        cpu = [_value(results, target, w, c['concurrency'], 'app_cpu_ms_per_request') for w in workloads]
        p50 = [_value(results, target, w, min(c['clients']), 'p50_ms') for w in workloads]
        if target != 'upstream direct':
            cpu_ax.bar(xs, cpu, width, label=target)
        p50_ax.bar(xs, p50, width, label=target)
    cpu_ax.set_title(f'server CPU ms per request, {c["concurrency"]} clients (lower is better)')
    p50_ax.set_title(f'p50 latency ms, {min(c["clients"])} client (lower is better)')
    for ax in (cpu_ax, p50_ax):
        ax.set_xticks(range(len(workloads)), workloads)
        ax.set_yscale('log')
        ax.grid(True, axis='y', alpha=0.3)
    p50_ax.legend(fontsize='small')
    fig.suptitle(f'{c["rtt_ms"]:g} ms RTT, {c["workers"]} workers × {c["threads"]} threads')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _value(results: dict, target: str, workload: str, clients: int, field: str) -> float:
    return next(
        (
            r[field] or 0.0
            for r in results['runs']
            if r['target'] == target and r['workload'] == workload and r['connections'] == clients
        ),
        0.0,
    )
