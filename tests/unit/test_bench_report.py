"""The benchmark's report from a made-up result: goals judged per workload, tables and chart written."""

from bench.report import BEGIN, END, check_targets, markdown, write_all, write_performance_page
from bench.targets import TARGETS

WORKLOADS = {'document': 'a document by id', 'docs': 'a listing of 100 documents', 'write': 'a write'}


def made_up(couchgate_rps, couchgate_p50, tls, couchgate_cpu_ms=0.5):
    runs = []
    for workload in WORKLOADS:
        for n in (1, 16):
            for target, rps, p50, cpu_ms in zip(
                TARGETS,
                (50, 180, 190, couchgate_rps, 200),
                (300, 24, 24.2, couchgate_p50, 22),
                (3.0, 0.9, 0.45, couchgate_cpu_ms, 0.0),
                strict=True,
            ):
                runs.append(
                    {
                        'target': target,
                        'workload': workload,
                        'connections': n,
                        'rps': rps,
                        'p50_ms': p50,
                        'p99_ms': 2 * p50,
                        'errors': 0,
                        'tls_connections': tls if target == 'couchgate' else 16,
                        'upstream_per_request': 1.0,
                        'app_cpu_s': 1.0,
                        'app_cpu_ms_per_request': cpu_ms,
                        'requests': 1000,
                        'other_cpu_s': 0.1,
                    }
                )
    return {
        'generated': 'now',
        'seconds': 200,
        'runs': runs,
        'config': {
            'rtt_ms': 20,
            'duration_s': 5,
            'warmup_s': 1,
            'workers': 2,
            'threads': 8,
            'concurrency': 16,
            'clients': [1, 16],
            'docs': 1000,
            'limit': 100,
            'workloads': WORKLOADS,
        },
        'machine': {
            'cpu': 'x',
            'cores': 2,
            'memory_gb': 1,
            'os': 'Linux',
            'python': '3.11',
            'node': '20',
            'load_before': '0',
            'load_after': '0',
        },
        'export': {
            'documents': 1000,
            'megabytes': 0.2,
            'docs_per_s': 9000,
            'rss_before_mb': 50,
            'peak_rss_growth_mb': 3.0,
        },
    }


def test_targets_hold_or_not_by_the_issues_numbers():
    holds = {(t['goal'], t['workload']): t['holds'] for t in check_targets(made_up(185, 24.5, 16))}
    assert all(holds.values()), holds
    failed = [(t['goal'], t['workload']) for t in check_targets(made_up(150, 30, 17, 0.95)) if not t['holds']]
    everywhere = [
        'CPU per request below the module-level client',
        'req/s at 16 clients ≥ 0.8 × pass-through',
        'p50 at 1 client ≤ pass-through + 1.0 ms',
        'throughput ≥ 0.9 × upstream direct',
        'p50 within 3 ms of upstream direct',
        'upstream TLS connections ≤ workers × threads (16)',
    ]
    # The CPU ratio to the pass-through is a goal on a document and on ids only.
    expected = [(goal, w) for w in WORKLOADS for goal in everywhere]
    expected.insert(1, ('CPU per request ≤ 1.6 × pass-through', 'document'))
    assert failed == expected


def test_a_partial_run_judges_what_it_measured():
    results = made_up(185, 24.5, 16)
    results['runs'] = [r for r in results['runs'] if r['target'] != 'pass-through']
    goals = {t['goal'] for t in check_targets(results)}
    assert not any('pass-through' in goal for goal in goals)
    assert 'CPU per request below the module-level client' in goals


def test_each_workload_gets_a_table_with_the_ratio_to_the_pass_through():
    results = made_up(185, 24.5, 16, couchgate_cpu_ms=0.54)
    results['targets'] = check_targets(results)
    table = markdown(results)
    for title in WORKLOADS.values():
        assert f'**{title}**' in table
    assert table.count('| couchgate | 16 | 185 | 24.5 | 49 | 0 | 16 | 1.0 | 0.54 | 1.20 | 0.1 |') == 3
    assert '| pass-through | 1 | 190 | 24.2 | 48.4 | 0 | 16 | 1.0 | 0.45 | 1.00 | 0.1 |' in table
    assert '| upstream direct | 16 | 200 | 22 | 44 | 0 | 16 | 1.0 | – | – | 0.1 |' in table
    assert '| CPU per request ≤ 1.6 × pass-through | 1.20 × | – | – | – |' in table


def test_write_all_writes_json_markdown_and_a_png(tmp_path):
    write_all(made_up(185, 24.5, 16), tmp_path)
    assert (tmp_path / 'chart.png').read_bytes().startswith(b'\x89PNG')
    assert '| couchgate | 16 | 185 |' in (tmp_path / 'results.md').read_text()
    assert '"targets"' in (tmp_path / 'results.json').read_text()


def test_the_performance_page_gets_the_table_between_its_markers_and_nothing_else(tmp_path):
    page = tmp_path / 'performance.md'
    page.write_text(f'# x\n{BEGIN}\nold table\n{END}\n## Tests\n')
    assert write_performance_page(page, '| new |\n')
    assert page.read_text() == f'# x\n{BEGIN}\n| new |\n{END}\n## Tests\n'
    unmarked = tmp_path / 'OTHER.md'
    unmarked.write_text('no markers\n')
    assert not write_performance_page(unmarked, '| new |\n') and unmarked.read_text() == 'no markers\n'
