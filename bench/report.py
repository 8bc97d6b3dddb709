"""The benchmark's outputs: results.json, results.md (the README's table) and chart.png."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # files only, no display
import matplotlib.pyplot as plt

from bench.targets import TARGETS


def check_targets(results: dict) -> list[dict]:
    """The issue's goals for couchgate at the main concurrency, each with what was measured."""
    config = results['config']
    main = {r['target']: r for r in results['runs'] if r['connections'] == config['concurrency']}
    if set(main) != set(TARGETS):
        return []  # a partial run (--targets) judges nothing
    cg, direct, per_request = main['couchgate'], main['upstream direct'], main['per-request client']
    floor, seed = main['pass-through'], main['module-level client']
    alone = {r['target']: r for r in results['runs'] if r['connections'] == 1}
    limit = config['workers'] * config['threads']
    checks = [
        (
            'throughput ≥ 0.9 × upstream direct',
            f'{cg["rps"] / direct["rps"]:.2f} ×',
            cg['rps'] >= 0.9 * direct['rps'],
        ),
        (
            'throughput ≥ 3 × per-request client',
            f'{cg["rps"] / max(per_request["rps"], 0.1):.1f} ×',
            cg['rps'] >= 3 * per_request['rps'],
        ),
        (
            'p50 within 3 ms of upstream direct',
            f'+{cg["p50_ms"] - direct["p50_ms"]:g} ms',
            cg['p50_ms'] <= direct['p50_ms'] + 3,
        ),
        (
            f'upstream TLS connections ≤ workers × threads ({limit})',
            str(cg['tls_connections']),
            cg['tls_connections'] <= limit,
        ),
        (
            'CPU per request ≤ 1.3 × pass-through',
            f'{cg["app_cpu_ms_per_request"] / floor["app_cpu_ms_per_request"]:.2f} ×',
            cg['app_cpu_ms_per_request'] <= 1.3 * floor['app_cpu_ms_per_request'],
        ),
        (
            'CPU per request below the module-level client',
            f'{cg["app_cpu_ms_per_request"]:.2f} vs {seed["app_cpu_ms_per_request"]:.2f} ms',
            cg['app_cpu_ms_per_request'] < seed['app_cpu_ms_per_request'],
        ),
        ('no errors', str(cg['errors']), cg['errors'] == 0),
    ]
    if 'couchgate' in alone and 'pass-through' in alone:
        extra = alone['couchgate']['p50_ms'] - alone['pass-through']['p50_ms']
        checks.append(('p50 at 1 client ≤ pass-through + 0.5 ms', f'{extra:+g} ms', extra <= 0.5))
    if results.get('export'):
        growth = results['export']['peak_rss_growth_mb']
        checks.append(('export of all documents: peak RSS growth < 50 MB', f'{growth} MB', growth < 50))
    return [{'goal': goal, 'measured': measured, 'holds': holds} for goal, measured, holds in checks]


BEGIN, END = '<!-- bench-results: written by make bench -->', '<!-- /bench-results -->'


def write_all(results: dict, out: Path, readme: Path | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results['targets'] = check_targets(results)
    (out / 'results.json').write_text(json.dumps(results, indent=2) + '\n')
    (out / 'results.md').write_text(markdown(results))
    chart(results, out / 'chart.png')
    if readme is not None:
        update_readme(readme, markdown(results))


def update_readme(readme: Path, table: str) -> bool:
    """Put the latest table between the README's markers; False (README untouched) if it has none."""
    text = readme.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return False
    readme.write_text(text[: start + len(BEGIN)] + '\n' + table + text[end:])
    return True


def markdown(results: dict) -> str:
    c, m = results['config'], results['machine']
    lines = [
        f'Listing {c["limit"]} documents (`{c["query"]}`), {c["concurrency"]} concurrent keep-alive '
        f'clients, {c["rtt_ms"]:g} ms RTT to the upstream, {c["duration_s"]} s per run after '
        f'{c["warmup_s"]} s of warm-up; gunicorn apps with {c["workers"]} workers × '
        f'{c["threads"]} threads.',
        '',
        '| target | req/s | p50 ms | p99 ms | errors | upstream TLS connections | server CPU s '
        "| CPU ms/request | machine busy | other jobs' CPU s |",
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for r in results['runs']:
        if r['connections'] == c['concurrency']:
            cpu = '–' if r['target'] == 'upstream direct' else f'{r["app_cpu_s"]:.1f}'
            per = '–' if r['target'] == 'upstream direct' else f'{r["app_cpu_ms_per_request"]:.2f}'
            lines.append(
                f'| {r["target"]} | {r["rps"]:.0f} | {r["p50_ms"]:g} | {r["p99_ms"]:g} '
                f'| {r["errors"]} | {r["tls_connections"]} | {cpu} | {per} '
                f'| {r.get("machine_busy_pct", "–")} % | {r.get("other_cpu_s", "–")} |'
            )
    lines += [
        '',
        'Concurrency sweep, req/s (p50 ms):',
        '',
        '| target | ' + ' | '.join(str(n) for n in c['sweep']) + ' |',
        '|---|' + '---:|' * len(c['sweep']),
    ]
    for target in TARGETS:
        cells = [
            next(
                (
                    f'{r["rps"]:.0f} ({r["p50_ms"]:g})'
                    for r in results['runs']
                    if r['target'] == target and r['connections'] == n
                ),
                '–',
            )
            for n in c['sweep']
        ]
        lines.append(f'| {target} | ' + ' | '.join(cells) + ' |')
    if results.get('export'):
        e = results['export']
        lines += [
            '',
            f'Export of {e["documents"]:,} documents ({e["megabytes"]} MB of NDJSON) through '
            f'couchgate: {e["docs_per_s"]:,} documents/s, worker RSS {e["rss_before_mb"]} MB before, '
            f'peak growth {e["peak_rss_growth_mb"]} MB.',
        ]
    lines += ['', '| goal (couchgate) | measured | holds |', '|---|---|---|']
    lines += [
        f'| {t["goal"]} | {t["measured"]} | {"yes" if t["holds"] else "**no**"} |' for t in results['targets']
    ]
    lines += [
        '',
        f'Machine: {m["cpu"]}, {m["cores"]} cores, {m["memory_gb"]} GB, {m["os"]}, '
        f'Python {m["python"]}, Node {m["node"]}; load average {m["load_before"]} before, '
        f'{m["load_after"]} after (the load generator and every server share these cores; '
        f"'other jobs' is CPU the machine spent on anything else). Run {results['generated']}.",
    ]
    return '\n'.join(lines) + '\n'


def chart(results: dict, path: Path) -> None:
    sweep = results['config']['sweep']
    fig, (rps_ax, p50_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target in TARGETS:
        runs = sorted((r for r in results['runs'] if r['target'] == target), key=lambda r: r['connections'])
        xs = [r['connections'] for r in runs]
        rps_ax.plot(xs, [r['rps'] for r in runs], marker='o', label=target)
        p50_ax.plot(xs, [r['p50_ms'] for r in runs], marker='o', label=target)
    titles = ((rps_ax, 'requests/s (higher is better)'), (p50_ax, 'p50 latency, ms (lower is better)'))
    for ax, title in titles:
        ax.set_xscale('log', base=2)
        ax.set_xticks(sweep, [str(n) for n in sweep])
        ax.set_xlabel('concurrent clients')
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    p50_ax.set_yscale('log')
    rps_ax.legend()
    c = results['config']
    fig.suptitle(
        f'Listing {c["limit"]} documents, {c["rtt_ms"]:g} ms RTT, '
        f'{c["workers"]} workers × {c["threads"]} threads'
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
