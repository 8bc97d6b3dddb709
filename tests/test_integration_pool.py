"""One pooled session per worker, counted at the server side (the TLS front)."""
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import certifi
import pytest
import trustme
from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibmcloudant import CloudantV1

from api.upstream.connections import start_recording, stop_recording
from api.upstream.session import build_session
from tests.support.pouch import free_port
from tests.integration import app_client, capture_request_lines, logged_total, request_lines


class FakeFront:
    def __init__(self, url):
        self.url = url


@pytest.fixture
def db(make_db):
    return make_db()


def test_sequential_requests_share_one_tls_connection(front, ca_bundle, db, caplog):
    capture_request_lines(caplog)
    client = app_client(front, ca_bundle, db)
    for _ in range(20):
        assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
    assert front.accepted_connections == 1
    assert front.request_count == 20
    assert logged_total(caplog, 'new_connections') == 1
    assert logged_total(caplog, 'reused_connections') == 19


def test_a_client_per_request_opens_a_connection_per_request(front, ca_bundle, db, monkeypatch):
    # The approach couchgate replaces: the counter must be able to tell the difference.
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', ca_bundle)
    for _ in range(20):
        client = CloudantV1(authenticator=NoAuthAuthenticator())
        client.set_service_url(front.url)
        client.post_all_docs(db, limit=25)
    assert front.accepted_connections == 20


def test_sixteen_threads_stay_within_the_pool(front, ca_bundle, db, caplog):
    capture_request_lines(caplog)
    client = app_client(front, ca_bundle, db, GUNICORN_THREADS='16')

    def fifty_requests(_):
        return [client.simulate_get(f'/v1/{db}/docs').status_code for _ in range(50)]

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for batch in pool.map(fifty_requests, range(16)) for s in batch]
    assert statuses == [200] * 800
    assert front.request_count == 800
    assert front.accepted_connections <= 16
    assert logged_total(caplog, 'discarded_connections') == 0
    assert logged_total(caplog, 'new_connections') == front.accepted_connections
    assert logged_total(caplog, 'upstream_requests') == 800


def test_logged_new_connections_match_the_server_after_idle_closes(front, ca_bundle, db, caplog):
    capture_request_lines(caplog)
    client = app_client(front, ca_bundle, db)
    for _ in range(3):
        for _ in range(5):
            assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
        front.close_idle_connections()
    assert front.accepted_connections == 3
    assert logged_total(caplog, 'new_connections') == 3
    assert [line['new_connections'] for line in request_lines(caplog)] == [1, 0, 0, 0, 0] * 3


def test_connections_beyond_the_pool_are_counted_as_discarded(front, ca_bundle, caplog):
    caplog.set_level(logging.DEBUG, logger='couchgate.upstream')
    # Three responses held open at once on a pool of one: two connections cannot go back.
    session = build_session(pool_maxsize=1, ca_bundle=ca_bundle)
    record, token = start_recording()
    try:
        held = [session.get(front.url + '/', stream=True, timeout=10) for _ in range(3)]
        for response in held:
            response.close()
    finally:
        stop_recording(token)
    assert (record.requests, record.new, record.discarded) == (3, 3, 2)
    assert front.accepted_connections == 3
    lines = [r.fields for r in caplog.records if r.name == 'couchgate.upstream']
    assert [line['event'] for line in lines] == ['new', 'new', 'new', 'discarded', 'discarded']
    assert {line['upstream'] for line in lines} == {f'127.0.0.1:{front.port}'}
    new_ports = [line['local_port'] for line in lines[:3]]
    assert len(set(new_ports)) == 3 and {line['local_port'] for line in lines[3:]} <= set(new_ports)


def test_ca_bundle_wins_over_requests_ca_bundle(front, ca_bundle, db, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certifi.where())  # trusts nothing the front presents
    client = app_client(front, ca_bundle, db)
    assert client.simulate_get('/readyz').status_code == 200
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200


def test_a_wrong_ca_is_a_clear_503(front, db, tmp_path, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certifi.where())
    wrong = tmp_path / 'other-ca.pem'
    trustme.CA().cert_pem.write_to_path(str(wrong))
    result = app_client(front, str(wrong), db).simulate_get(f'/v1/{db}/docs')
    assert result.status_code == 503
    assert result.headers['content-type'] == 'application/problem+json'
    assert 'TLS' in result.json['detail']
    assert front.request_count == 0


def test_readyz_is_503_when_nothing_listens(ca_bundle):
    nowhere = FakeFront(f'https://127.0.0.1:{free_port()}')
    result = app_client(nowhere, ca_bundle).simulate_get('/readyz')
    assert result.status_code == 503 and result.headers['retry-after']


def test_a_forked_child_never_uses_the_parents_connection(front, ca_bundle, db):
    client = app_client(front, ca_bundle, db)
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
    assert front.accepted_connections == 1
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it saw, never return into pytest
        try:
            result = client.simulate_get(f'/v1/{db}/docs')
            os.write(write_end, json.dumps([result.status_code, result.headers['server-timing']]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_status, child_timing = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert child_status == 200
    assert 'new=1 reused=0' in child_timing
    assert front.accepted_connections == 2
    parent = client.simulate_get(f'/v1/{db}/docs')
    assert parent.status_code == 200
    assert 'new=0 reused=1' in parent.headers['server-timing']
    assert front.accepted_connections == 2
