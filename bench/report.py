"""The benchmark's outputs: results.json, results.md (docs/performance.md's tables) and chart.png."""

from __future__ import annotations

import json
from pathlib import Path

from bench.chart import chart
from bench.targets import TARGETS

# Issue 22's targets for couchgate: CPU per request below the module-level client everywhere, within
# 1.6x the pass-through's on a document and on 100 ids (the listing of documents changes every row),
# p50 at one client within 1 ms of the pass-through's, and 0.8x its req/s at the most clients.
CPU_RATIO_WORKLOADS = ('document', 'ids')
CPU_RATIO = 1.6


def check_targets(results: dict) -> list[dict]:
    """The issue's goals for couchgate, per workload, each with what was measured."""
    checks = []
    for workload in results['config']['workloads']:
        checks += [
            {'goal': goal, 'workload': workload, 'measured': measured, 'holds': holds}
            for goal, measured, holds in _checks(results, workload)
        ]
    if results.get('export'):
        growth = results['export']['peak_rss_growth_mb']
        goal = 'export of all documents: peak RSS growth < 50 MB'
        checks.append({'goal': goal, 'workload': 'export', 'measured': f'{growth} MB', 'holds': growth < 50})
    return checks


def _checks(results: dict, workload: str) -> list[tuple[str, str, bool]]:
    """The goals this run can judge: those whose targets it measured (a partial run judges fewer)."""
    config = results['config']
    runs = [r for r in results['runs'] if r['workload'] == workload]
    main = {r['target']: r for r in runs if r['connections'] == config['concurrency']}
    alone = {r['target']: r for r in runs if r['connections'] == 1}
    if 'couchgate' not in main:
        return []
    cg, cpu = main['couchgate'], main['couchgate']['app_cpu_ms_per_request']
    checks: list[tuple[str, str, bool]] = []
    if 'module-level client' in main:
        seed = main['module-level client']['app_cpu_ms_per_request']
        checks.append(
            ('CPU per request below the module-level client', f'{cpu:.2f} vs {seed:.2f} ms', cpu < seed)
        )
    if 'pass-through' in main:
        floor = main['pass-through']
        if workload in CPU_RATIO_WORKLOADS:
            ratio = cpu / floor['app_cpu_ms_per_request']
            goal = f'CPU per request ≤ {CPU_RATIO:g} × pass-through'
            checks.append((goal, f'{ratio:.2f} ×', ratio <= CPU_RATIO))
        share = cg['rps'] / max(floor['rps'], 0.1)
        goal = f'req/s at {config["concurrency"]} clients ≥ 0.8 × pass-through'
        checks.append((goal, f'{share:.2f} ×', share >= 0.8))
    if 'couchgate' in alone and 'pass-through' in alone:
        extra = alone['couchgate']['p50_ms'] - alone['pass-through']['p50_ms']
        checks.append(('p50 at 1 client ≤ pass-through + 1.0 ms', f'{extra:+g} ms', extra <= 1.0))
    if 'upstream direct' in main:
        direct = main['upstream direct']
        checks.append(
            (
                'throughput ≥ 0.9 × upstream direct',
                f'{cg["rps"] / direct["rps"]:.2f} ×',
                cg['rps'] >= 0.9 * direct['rps'],
            )
        )
        checks.append(
            (
                'p50 within 3 ms of upstream direct',
                f'+{cg["p50_ms"] - direct["p50_ms"]:g} ms',
                cg['p50_ms'] <= direct['p50_ms'] + 3,
            )
        )
    if 'per-request client' in main:
        per_request = main['per-request client']
        checks.append(
            (
                'throughput ≥ 3 × per-request client',
                f'{cg["rps"] / max(per_request["rps"], 0.1):.1f} ×',
                cg['rps'] >= 3 * per_request['rps'],
            )
        )
    limit = config['workers'] * config['threads']
    checks.append(
        (
            f'upstream TLS connections ≤ workers × threads ({limit})',
            str(cg['tls_connections']),
            cg['tls_connections'] <= limit,
        )
    )
    checks.append(('no errors', str(cg['errors']), cg['errors'] == 0))
    return checks


BEGIN, END = '<!-- bench-results: written by make bench -->', '<!-- /bench-results -->'


def write_all(results: dict, out: Path, page: Path | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results['targets'] = check_targets(results)
    (out / 'results.json').write_text(json.dumps(results, indent=2) + '\n')
    (out / 'results.md').write_text(markdown(results))
    chart(results, out / 'chart.png')
    if page is not None:
        write_performance_page(page, markdown(results))


def write_performance_page(page: Path, table: str) -> bool:
    """Put the latest table between docs/performance.md's markers; False (untouched) if it has none."""
    text = page.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return False
    page.write_text(text[: start + len(BEGIN)] + '\n' + table + text[end:])
    return True


def _ratio(run: dict, floor: dict | None) -> str:
    if floor is None or run['target'] == 'upstream direct':
        return '–'
    return f'{run["app_cpu_ms_per_request"] / floor["app_cpu_ms_per_request"]:.2f}'


def markdown(results: dict) -> str:
    c, m = results['config'], results['machine']
    lines = [
        f'{c["rtt_ms"]:g} ms RTT to the upstream, {c["duration_s"]} s per run after {c["warmup_s"]} s '
        f'of warm-up, keep-alive clients; gunicorn apps with {c["workers"]} workers × {c["threads"]} '
        f"threads. CPU ms/request: user + system time of all the target's gunicorn processes; "
        f"× pass-through: that CPU over the pass-through's, same workload and clients."
        + (f' couchgate with {", ".join(c["couchgate_env"])}.' if c.get('couchgate_env') else '')
        + (
            f' Every target running at once, measured in turn, {c["rounds"]} rounds: medians, CPU with '
            'its range.'
            if c.get('rounds', 1) > 1
            else ''
        ),
    ]
    for workload, title in c['workloads'].items():
        runs = [r for r in results['runs'] if r['workload'] == workload]
        lines += [
            '',
            f'**{title}**',
            '',
            '| target | clients | req/s | p50 ms | p99 ms | errors | upstream TLS connections '
            "| upstream requests per request | CPU ms/request | × pass-through | other jobs' CPU s |",
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ]
        for target in TARGETS:
            for r in sorted((r for r in runs if r['target'] == target), key=lambda r: r['connections']):
                floor = next(
                    (
                        f
                        for f in runs
                        if f['target'] == 'pass-through' and f['connections'] == r['connections']
                    ),
                    None,
                )
                per = '–' if r['target'] == 'upstream direct' else f'{r["app_cpu_ms_per_request"]:.2f}'
                if per != '–' and r.get('rounds', 1) > 1:
                    low, high = r['app_cpu_ms_per_request_range']
                    per += f' ({low:.2f}–{high:.2f})'
                lines.append(
                    f'| {r["target"]} | {r["connections"]} | {r["rps"]:.0f} | {r["p50_ms"]:g} '
                    f'| {r["p99_ms"]:g} | {r["errors"]} | {r["tls_connections"]} '
                    f'| {r.get("upstream_per_request", "–")} | {per} '
                    f'| {_ratio(r, floor)} | {r.get("other_cpu_s", "–")} |'
                )
    if results.get('export'):
        e = results['export']
        lines += [
            '',
            f'Export of {e["documents"]:,} documents ({e["megabytes"]} MB of NDJSON) through '
            f'couchgate: {e["docs_per_s"]:,} documents/s, worker RSS {e["rss_before_mb"]} MB before, '
            f'peak growth {e["peak_rss_growth_mb"]} MB.',
        ]
    lines += _goals(results)
    lines += [
        '',
        f'Machine: {m["cpu"]}, {m["cores"]} cores, {m["memory_gb"]} GB, {m["os"]}, '
        f'Python {m["python"]}, Node {m["node"]}; load average {m["load_before"]} before, '
        f'{m["load_after"]} after (the load generator and every server share these cores; '
        f"'other jobs' is CPU the machine spent on anything else). Run {results['generated']}, "
        f'{results.get("seconds", "?")} s in all.',
    ]
    return '\n'.join(lines) + '\n'


def _goals(results: dict) -> list[str]:
    """One row per goal, one column per workload: what was measured, and whether it holds."""
    columns = [*results['config']['workloads'], 'export']
    cells: dict[str, dict[str, str]] = {}
    for t in results['targets']:
        cell = t['measured'] + ('' if t['holds'] else ' **no**')
        cells.setdefault(t['goal'], {})[t['workload']] = cell
    used = [w for w in columns if any(w in row for row in cells.values())]
    lines = ['', '| goal (couchgate) | ' + ' | '.join(used) + ' |', '|---|' + '---|' * len(used)]
    for goal, row in cells.items():
        lines.append(f'| {goal} | ' + ' | '.join(row.get(w, '–') for w in used) + ' |')
    return lines
