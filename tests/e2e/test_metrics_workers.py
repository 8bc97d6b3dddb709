"""/metrics from the Procfile's web process with two workers, checked against the TLS front's counts."""

import contextlib
import os
import signal

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.gunicorn_process import WebProcess
from tests.support.poll import wait_for
from tests.support.web import WORKERS, web_env

DOCS_ROUTE = {'route': '/v1/{db}/docs', 'method': 'GET', 'status': '200'}


@pytest.fixture
def db(make_db, couch_admin):
    name = make_db()
    docs = [{'n': i} for i in range(5)]
    assert couch_admin.post(f'{name}/_bulk_docs', json={'docs': docs}).status_code == 201
    return name


@contextlib.contextmanager
def web_process(front, ca_bundle, db, **env):
    """Two workers of four threads, once one answers /healthz (not /readyz: it would reach the
    upstream, whose requests and connections these tests count)."""
    with WebProcess(**web_env(front, ca_bundle, db, **env)) as web:
        web.wait_ready('/healthz')
        yield web


def scrape(web) -> dict:
    """{(sample name, frozenset of labels): value} of one /metrics response."""
    result = requests.get(web.url + '/metrics', timeout=10)
    assert result.status_code == 200 and result.headers['content-type'].startswith('text/plain')
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(result.text)
        for s in family.samples
    }


def scrape_until(web, holds, what: str) -> dict:
    """Scrape until holds(samples) (a deadline, no sleep): a worker's gauges appear only once it has
    started, and the worker that answered first says nothing of the other."""
    scraped = {}

    def check() -> bool:
        scraped['samples'] = scrape(web)
        return holds(scraped['samples'])

    wait_for(check, what)
    return scraped['samples']


def value(samples, name, **labels):
    """The sum over the series of `name` that have these labels (and any others, e.g. `key`)."""
    wanted = set(labels.items())
    return sum(v for (n, series), v in samples.items() if n == name and wanted <= series)


def per_worker(samples, name) -> dict[int, float]:
    return {int(dict(labels)['pid']): v for (n, labels), v in samples.items() if n == name}


def serve_from_both_workers(web, front, db, limit=200) -> int:
    """Send requests, each on a new connection, until both workers served one; returns how many."""
    # Each worker has its own pool: a second TLS connection at the front means a second worker.
    sent = 0
    while front.accepted_connections < 2 and sent < limit:
        result = requests.get(f'{web.url}/v1/{db}/docs', headers={'Connection': 'close'}, timeout=10)
        assert result.status_code == 200
        sent += 1
    assert front.accepted_connections == 2, f'one worker served all {sent} requests'
    return sent


def test_metrics_add_up_both_workers_and_match_the_tls_front(front, ca_bundle, db, tmp_path):
    with web_process(front, ca_bundle, db, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / 'm')) as web:
        check_totals(web, front, db)
    assert not list((tmp_path / 'm').glob('gauge_liveall_*.db'))  # every worker's gauges went with it


def check_totals(web, front, db):
    sent = serve_from_both_workers(web, front, db)
    samples = scrape(web)
    assert value(samples, 'couchgate_http_requests_total', **DOCS_ROUTE) == sent
    assert value(samples, 'couchgate_http_request_duration_seconds_count', **DOCS_ROUTE) == sent
    # And each worker's GET / once, at its first listing: how the server orders ids.
    assert value(samples, 'couchgate_upstream_requests_total') == front.request_count == sent + 2
    assert value(samples, 'couchgate_upstream_request_duration_seconds_count') == sent + 2
    assert value(samples, 'couchgate_upstream_connections_total', event='new') == front.accepted_connections
    assert value(samples, 'couchgate_upstream_connections_total', event='reused') == sent
    assert value(samples, 'couchgate_upstream_connections_total', event='discarded') == 0
    # Gauges are per worker: both workers' files are read, whichever one answered.
    assert list(per_worker(samples, 'couchgate_pool_max_connections').values()) == [4.0, 4.0]
    assert list(per_worker(samples, 'couchgate_pool_connections_in_use').values()) == [0.0, 0.0]


def test_a_dead_workers_gauges_go_but_its_counts_stay(front, ca_bundle, db):
    # Without PROMETHEUS_MULTIPROC_DIR: gunicorn's master makes a directory of its own.
    with web_process(front, ca_bundle, db) as web:
        kill_a_worker_and_check(web, front, db)


def kill_a_worker_and_check(web, front, db):
    sent = serve_from_both_workers(web, front, db)
    before = per_worker(scrape(web), 'couchgate_pool_max_connections')
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # gunicorn's master reaps it (child_exit) and starts a replacement: poll until /metrics shows that.
    wait_for(
        lambda: (
            (workers := per_worker(scrape(web), 'couchgate_pool_max_connections'))
            and victim not in workers
            and len(workers) == 2
        ),
        'the replacement worker in /metrics',
    )
    samples = scrape(web)
    assert value(samples, 'couchgate_http_requests_total', **DOCS_ROUTE) == sent
    assert value(samples, 'couchgate_upstream_connections_total', event='new') == 2


def test_a_preloaded_app_reports_gauges_for_each_worker_and_none_for_the_master(front, ca_bundle, db):
    with web_process(front, ca_bundle, db, PRELOAD_APP='1') as web:
        for _ in range(10):
            assert requests.get(f'{web.url}/v1/{db}/docs', timeout=10).status_code == 200
        # With preload_app a worker sets its gauges in post_fork: wait until every worker has.
        samples = scrape_until(
            web,
            lambda s: len(per_worker(s, 'couchgate_pool_max_connections')) == WORKERS,
            "every worker's gauges in /metrics",
        )
        master = web.pid
    gauges = per_worker(samples, 'couchgate_pool_max_connections')
    assert master not in gauges
    assert list(gauges.values()) == [4.0, 4.0]
    assert value(samples, 'couchgate_http_requests_total', **DOCS_ROUTE) == 10
    # The master's start-up check is counted too: it opened one of the front's connections.
    assert value(samples, 'couchgate_upstream_connections_total', event='new') == front.accepted_connections
