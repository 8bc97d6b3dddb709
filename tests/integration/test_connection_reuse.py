"""One pooled session per worker, counted at the server side (the TLS front): reused by every request
and thread, never shared with a forked child, closed when the worker exits."""

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibmcloudant import CloudantV1

from api.upstream import session as pool
from api.upstream.connections import start_recording, stop_recording
from api.upstream.session import build_session
from tests.support.poll import wait_for
from tests.support.request_log import capture_request_lines, logged_total, request_lines


def test_sequential_requests_share_one_tls_connection(client, front, db, caplog):
    capture_request_lines(caplog)
    for _ in range(20):
        assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
    assert front.accepted_connections == 1
    # and once per worker, GET / to learn how the server orders ids (api/upstream/cloudant_reads.py)
    assert front.request_count == 20 + 1
    assert logged_total(caplog, 'new_connections') == 1
    assert logged_total(caplog, 'reused_connections') == 20


def test_a_client_per_request_opens_a_connection_per_request(front, ca_bundle, db, monkeypatch):
    # The approach couchgate replaces: the counter must be able to tell the difference.
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', ca_bundle)
    for _ in range(20):
        client = CloudantV1(authenticator=NoAuthAuthenticator())
        client.set_service_url(front.url)
        client.post_all_docs(db, limit=25)
    assert front.accepted_connections == 20


def test_sixteen_threads_stay_within_the_pool(make_client, front, db, caplog):
    capture_request_lines(caplog)
    client = make_client(GUNICORN_THREADS='16')

    def fifty_requests(_):
        return [client.simulate_get(f'/v1/{db}/docs').status_code for _ in range(50)]

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for batch in pool.map(fifty_requests, range(16)) for s in batch]
    assert statuses == [200] * 800
    assert front.request_count == 800 + 1  # and GET / once per worker: how the server orders ids
    assert front.accepted_connections <= 16
    assert logged_total(caplog, 'discarded_connections') == 0
    assert logged_total(caplog, 'new_connections') == front.accepted_connections
    assert logged_total(caplog, 'upstream_requests') == 800 + 1


def test_logged_new_connections_match_the_server_after_idle_closes(client, front, db, caplog):
    capture_request_lines(caplog)
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


def test_close_all_closes_the_idle_pooled_connections_of_this_process(front, ca_bundle):
    session = pool.build_session(pool_maxsize=2, ca_bundle=ca_bundle)
    assert session.get(front.url + '/', timeout=10).status_code == 200
    assert front.open_connections == 1
    adapters, closed = pool.close_all()
    assert adapters >= 1 and closed >= 1
    wait_for(lambda: front.open_connections == 0, 'the front seeing the close')


def test_a_forked_child_never_uses_the_parents_connection(client, front, db):
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


def test_reset_after_fork_leaves_the_parents_connections_behind_in_the_child(front, ca_bundle):
    session = pool.build_session(pool_maxsize=2, ca_bundle=ca_bundle)
    assert session.get(front.url + '/', timeout=10).status_code == 200
    assert pool.reset_after_fork()[1] == 0  # same process: nothing to reset
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            adapters, inherited = pool.reset_after_fork()
            again = pool.reset_after_fork()
            status = session.get(front.url + '/', timeout=10).status_code
            os.write(write_end, json.dumps([adapters, inherited, again, status]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        adapters, inherited, again, status = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert adapters >= 1 and inherited >= 1 and again[1] == 0 and status == 200
    assert front.accepted_connections == 2  # the child opened its own
    session.close()
