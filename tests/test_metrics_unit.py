"""Metrics in one process: fed by the pool's own events, bounded labels, the multiprocess directory."""
import os

import pytest
from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from api.observability import multiprocess as metrics_dir
from api.app import create_app
from api.config import ConfigError, Settings
from api.observability.metrics import Metrics
from api.upstream.connections import start_recording, stop_recording
from api.upstream.session import build_session
from container import build_injector


def samples(metrics: Metrics) -> dict:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(metrics.render().decode()) for s in family.samples}


def test_the_pool_reports_each_event_it_credits_to_requests(front, ca_bundle):
    metrics = Metrics(Settings.from_env({'GUNICORN_THREADS': '1'}))
    # Three responses held open at once on a pool of one: two connections cannot go back.
    session = build_session(pool_maxsize=1, ca_bundle=ca_bundle, listener=metrics)
    record, token = start_recording()
    try:
        held = [session.get(front.url + '/', stream=True, timeout=10) for _ in range(3)]
        assert samples(metrics)[('couchgate_pool_connections_in_use', frozenset())] == 3
        for response in held:
            response.content  # read to the end: the connection goes back open (or is discarded)
        session.get(front.url + '/', timeout=10)
    finally:
        stop_recording(token)
    seen = samples(metrics)
    connections = {event: seen[('couchgate_upstream_connections_total', frozenset({('event', event)}))]
                   for event in ('new', 'reused', 'discarded')}
    assert connections == {'new': record.new, 'reused': record.reused, 'discarded': record.discarded}
    assert connections == {'new': 3, 'reused': 1, 'discarded': 2}
    assert front.accepted_connections == 3
    assert seen[('couchgate_upstream_requests_total', frozenset())] == record.requests == 4
    assert seen[('couchgate_upstream_request_duration_seconds_count', frozenset())] == 4
    assert seen[('couchgate_pool_connections_in_use', frozenset())] == 0
    assert seen[('couchgate_pool_max_connections', frozenset())] == 1


@pytest.fixture
def client():
    settings = Settings.from_env({'CLOUDANT_DATABASES': 'foundbite'})
    return testing.TestClient(create_app(build_injector(settings)))


@pytest.mark.filterwarnings('ignore:Unknown REQUEST_METHOD')  # wsgiref's validator, about BREW
def test_requests_are_counted_by_route_template_never_by_raw_path(client):
    client.simulate_get('/healthz')
    client.simulate_get('/v1/_users/docs/x')  # refused before any upstream call
    client.simulate_get('/no/such/path/123')
    client.simulate_request('PROPFIND', '/healthz')
    client.simulate_request('BREW', '/healthz')  # any client-chosen word: one series for them all
    result = client.simulate_get('/metrics')
    assert result.headers['content-type'].startswith('text/plain; version=')
    counted = {tuple(sorted(s.labels.items())): s.value
               for family in text_string_to_metric_families(result.text) for s in family.samples
               if s.name == 'couchgate_http_requests_total'}
    assert counted == {
        (('method', 'GET'), ('route', '/healthz'), ('status', '200')): 1,
        (('method', 'GET'), ('route', '/v1/{db}/docs/{doc_id:path}'), ('status', '404')): 1,
        (('method', 'GET'), ('route', '(unmatched)'), ('status', '404')): 1,
        (('method', 'PROPFIND'), ('route', '/healthz'), ('status', '405')): 1,
        (('method', 'OTHER'), ('route', '/healthz'), ('status', '400')): 1,
    }


def test_prepare_empties_a_configured_directory(tmp_path, monkeypatch):
    monkeypatch.delenv('PROMETHEUS_MULTIPROC_DIR', raising=False)  # restored after the test
    (tmp_path / 'counter_123.db').write_bytes(b'stale')
    (tmp_path / 'README').write_text('kept')
    assert metrics_dir.prepare(str(tmp_path)) == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['README']
    assert os.environ['PROMETHEUS_MULTIPROC_DIR'] == str(tmp_path)


def test_prepare_without_a_directory_makes_one_and_cleanup_removes_it(monkeypatch):
    monkeypatch.delenv('PROMETHEUS_MULTIPROC_DIR', raising=False)
    path = metrics_dir.prepare(None)
    assert os.path.isdir(path) and os.environ['PROMETHEUS_MULTIPROC_DIR'] == path
    metrics_dir.cleanup()
    assert not os.path.exists(path)


def test_a_metrics_directory_that_is_a_file_is_refused(tmp_path):
    (tmp_path / 'file').write_text('')
    with pytest.raises(ConfigError, match='PROMETHEUS_MULTIPROC_DIR'):
        Settings.from_env({'PROMETHEUS_MULTIPROC_DIR': str(tmp_path / 'file')})
    assert Settings.from_env({}).metrics_dir is None
