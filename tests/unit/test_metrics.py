"""Metrics in one process: requests counted by route template, the multiprocess directory."""

import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.config import ConfigError, Settings
from api.observability import multiprocess as metrics_dir


@pytest.mark.filterwarnings('ignore:Unknown REQUEST_METHOD')  # wsgiref's validator, about BREW
def test_requests_are_counted_by_route_template_never_by_raw_path(client):
    client.simulate_get('/healthz')
    client.simulate_get('/v1/_users/docs/x')  # refused before any upstream call
    client.simulate_get('/no/such/path/123')
    client.simulate_request('PROPFIND', '/healthz')
    client.simulate_request('BREW', '/healthz')  # any client-chosen word: one series for them all
    result = client.simulate_get('/metrics')
    assert result.headers['content-type'].startswith('text/plain; version=')
    counted = {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(result.text)
        for s in family.samples
        if s.name == 'couchgate_http_requests_total'
    }
    assert counted == {
        # The key label: the name of the key the request carried, '(none)' when it carried none
        # (/healthz is public: its key is never looked at).
        (('key', '(none)'), ('method', 'GET'), ('route', '/healthz'), ('status', '200')): 1,
        (('key', 'tests'), ('method', 'GET'), ('route', '/v1/{db}/docs/{doc_id:path}'), ('status', '404')): 1,
        (('key', '(none)'), ('method', 'GET'), ('route', '(unmatched)'), ('status', '404')): 1,
        (('key', '(none)'), ('method', 'PROPFIND'), ('route', '/healthz'), ('status', '405')): 1,
        (('key', '(none)'), ('method', 'OTHER'), ('route', '/healthz'), ('status', '400')): 1,
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
