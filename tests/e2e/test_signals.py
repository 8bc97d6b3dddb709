"""Signals as a dyno sees them: SIGTERM with requests in flight, and a worker SIGKILLed."""

import os
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.delay_proxy import DelayProxy
from tests.support.gunicorn_process import REPO_ROOT, WebProcess
from tests.support.load import LoadResult, read_documents
from tests.support.poll import wait_for
from tests.support.tls_front import TLSFront
from tests.support.web import THREADS, WORKERS, new_connections_by_pid, seed_documents, web_env


def graceful_timeout() -> int:
    """gunicorn.conf.py's graceful_timeout, read from the file the web line uses."""
    found = re.search(r'^graceful_timeout = (\d+)', (REPO_ROOT / 'gunicorn.conf.py').read_text(), re.M)
    assert found is not None, 'gunicorn.conf.py sets no graceful_timeout'
    return int(found.group(1))


GRACEFUL_TIMEOUT = graceful_timeout()


@pytest.fixture
def documents(make_db, couch_admin):
    db = make_db()
    return db, seed_documents(couch_admin, db)


@pytest.fixture
def slow_front(pouch, server_ssl_context):
    """A counting TLS front whose upstream can be held: app → front → delay proxy → pouchdb-server."""
    with (
        DelayProxy(('127.0.0.1', pouch.port)) as proxy,
        TLSFront(('127.0.0.1', proxy.port), server_ssl_context) as front,
    ):
        yield front, proxy


def wait_for_access_lines(web: WebProcess, request_ids: list[str]) -> None:
    """Wait until gunicorn has written the access line of each of `request_ids`."""
    wanted = set(request_ids)
    web.wait_for(
        lambda: wanted <= {line['request_id'] for line in web.lines('gunicorn.access')},
        what='the access lines',
    )


def test_sigterm_finishes_in_flight_requests_and_opens_nothing_new(slow_front, ca_bundle, documents):
    front, proxy = slow_front
    db, ids = documents
    with WebProcess(**web_env(front, ca_bundle, db)) as web:
        web.wait_ready()
        in_flight = ids[:THREADS]  # one worker's threads can hold them all: each reaches the front
        proxy.hold()
        with ThreadPoolExecutor(len(in_flight)) as pool:
            started = front.request_count
            futures = [
                pool.submit(requests.get, f'{web.url}/v1/{db}/docs/{i}', timeout=60) for i in in_flight
            ]
            wait_for(lambda: front.request_count == started + len(in_flight), 'requests reaching upstream')
            accepted, forwarded = front.accepted_connections, front.request_count
            signalled = time.monotonic()
            web.send_signal(signal.SIGTERM)  # to every process of the group, as Heroku does
            web.wait_for(lambda: 'Handling signal: term' in web.stderr, what='the master handling SIGTERM')
            proxy.release()
            responses = [future.result(timeout=60) for future in futures]
        # Raises if the master is still running when the graceful timeout since the signal is over.
        code = web.proc.wait(max(0.1, signalled + GRACEFUL_TIMEOUT - time.monotonic()))
        stopped = time.monotonic() - signalled
    print(
        f'\nscenario 3: {len(in_flight)} in flight at SIGTERM: '
        f'statuses {[r.status_code for r in responses]}, '
        f'master exit {code} after {stopped:.1f} s (graceful_timeout {GRACEFUL_TIMEOUT} s), '
        f'TLS connections accepted at signal {accepted}, after {front.accepted_connections}, '
        f'upstream requests at signal {forwarded}, after {front.request_count}'
    )
    assert [r.status_code for r in responses] == [200] * len(in_flight)
    assert [r.json()['_id'] for r in responses] == in_flight
    assert code == 0
    assert front.accepted_connections == accepted
    assert front.request_count == forwarded
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', web.port), timeout=5).close()
    closed = web.lines('couchgate.server', 'pool closed')
    assert sorted(line['pid'] for line in closed) == sorted(web.worker_pids())


def test_a_killed_worker_is_replaced_and_the_new_one_opens_its_own_connections(front, ca_bundle, documents):
    db, ids = documents
    with WebProcess(**web_env(front, ca_bundle, db)) as web:
        web.wait_ready()
        # Warm up until one worker has a connection per thread: it can open no more, so after the
        # other is killed, all growth at the front is the replacement's.
        for _ in range(10):
            warm = read_documents(web.url, db, ids, 400, 16)
            assert warm.errors == [] and set(warm.statuses) == {200}
            # Wait for every access line of the warm-up: the per-worker counts below are then final.
            wait_for_access_lines(web, warm.request_ids)
            by_pid_before = new_connections_by_pid(web)
            if max(by_pid_before.values()) == THREADS:
                break
        survivor = max(by_pid_before, key=lambda pid: by_pid_before[pid])
        [victim] = set(web.worker_pids()) - {survivor}
        before = front.accepted_connections
        os.kill(victim, signal.SIGKILL)
        replacement = web.wait_for(
            lambda: next((p for p in web.worker_pids() if p not in (victim, survivor)), None),
            what='a replacement worker',
        )
        after: list[LoadResult] = []
        while not any(line['pid'] == replacement for line in web.lines('gunicorn.access')):
            assert len(after) < 10, 'the replacement worker never served a request'
            after.append(read_documents(web.url, db, ids, 200, 16))
        assert web.stop() == 0
    by_pid = new_connections_by_pid(web)
    grown = front.accepted_connections - before
    print(
        f'\nscenario 4: killed worker {victim}, replaced by {replacement}; after the kill '
        f'{sum(len(r.statuses) for r in after)} requests, errors {sum(len(r.errors) for r in after)}, '
        f'statuses {sorted({s for r in after for s in r.statuses})}; '
        f'TLS connections accepted before {before}, after {front.accepted_connections}; '
        f'new_connections by worker {dict(by_pid)}'
    )
    for result in after:
        assert result.errors == [] and result.corrupted == []
        assert set(result.statuses) == {200}
    assert by_pid_before[survivor] == THREADS
    assert 1 <= grown <= THREADS
    assert by_pid[replacement] == grown
    assert by_pid[survivor] == by_pid_before[survivor] and by_pid[victim] == by_pid_before[victim]
    assert sum(by_pid.values()) == front.accepted_connections
    assert len(web.worker_pids()) == WORKERS + 1
