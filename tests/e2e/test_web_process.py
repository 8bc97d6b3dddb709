"""The Procfile's `web` line under load, as on a dyno: connections counted at the TLS front."""

import pytest

from tests.support.gunicorn_process import WebProcess
from tests.support.load import read_documents
from tests.support.web import (
    THREADS,
    WORKERS,
    new_connections_by_pid,
    requests_by_pid,
    seed_documents,
    total,
    web_env,
)

REQUESTS, CLIENTS = 2000, 16


@pytest.fixture
def documents(make_db, couch_admin):
    db = make_db()
    return db, seed_documents(couch_admin, db)


def assert_clean(result, requests=REQUESTS):
    assert result.errors == []
    assert result.corrupted == []
    assert result.missing_headers == []
    assert result.statuses == [200] * requests


def assert_one_access_line_per_app_line(web, result):
    app_ids = [line['request_id'] for line in web.lines('couchgate.request')]
    access = {line['request_id']: line for line in web.lines('gunicorn.access')}
    assert len(set(app_ids)) == len(app_ids)
    assert set(result.request_ids) <= set(app_ids)
    assert set(access) == set(app_ids)  # the same id in the app's line and gunicorn's
    assert {access[i]['status'] for i in result.request_ids} == {200}


def test_2000_requests_from_16_clients_use_at_most_one_connection_per_thread(front, ca_bundle, documents):
    db, ids = documents
    with WebProcess(**web_env(front, ca_bundle, db)) as web:
        web.wait_ready()
        result = read_documents(web.url, db, ids, REQUESTS, CLIENTS)
        assert web.stop() == 0
    assert_clean(result)
    accepted, logged = front.accepted_connections, total(web.lines('couchgate.request'), 'new_connections')
    print(
        f'\nscenario 1: {REQUESTS} requests, {CLIENTS} clients: {len(result.errors)} errors, '
        f'statuses {sorted(set(result.statuses))}, TLS connections accepted {accepted}, '
        f'new_connections logged {logged}, upstream requests {front.request_count}; per worker: '
        f'requests {dict(requests_by_pid(web))}, new connections {dict(new_connections_by_pid(web))}'
    )
    assert 1 <= accepted <= WORKERS * THREADS
    assert logged == accepted
    assert total(web.lines('couchgate.request'), 'discarded_connections') == 0
    assert_one_access_line_per_app_line(web, result)


def test_a_preloaded_master_that_used_the_upstream_hands_no_connection_to_its_workers(
    front, ca_bundle, documents
):
    db, ids = documents
    with WebProcess(**web_env(front, ca_bundle, db, PRELOAD_APP='1')) as web:
        web.wait_ready()
        result = read_documents(web.url, db, ids, REQUESTS, CLIENTS)
        assert web.stop() == 0
    assert_clean(result)
    [check] = web.lines('couchgate.server', 'upstream ready')
    resets = web.lines('couchgate.server', 'pool reset after fork')
    accepted, logged = front.accepted_connections, total(web.json_lines(), 'new_connections')
    print(
        f'\nscenario 2 (preload): {REQUESTS} requests: {len(result.errors)} errors, '
        f'{len(result.corrupted)} corrupted, '
        f'TLS connections accepted {accepted} (master {check["new_connections"]}), '
        f'new_connections logged {logged}, inherited connections dropped per worker '
        f'{[line["inherited_connections"] for line in resets]}; per worker: requests '
        f'{dict(requests_by_pid(web))}, new connections {dict(new_connections_by_pid(web))}'
    )
    # The master opened a connection before the fork, and every worker left it behind.
    assert check['pid'] == web.pid and check['new_connections'] == 1
    assert {line['pid'] for line in resets} == set(web.worker_pids())
    assert [line['inherited_connections'] for line in resets] == [1] * WORKERS
    assert logged == accepted  # the master's check line included
    assert accepted <= 1 + WORKERS * THREADS
    assert_one_access_line_per_app_line(web, result)


def test_gunicorns_own_preload_flag_gets_the_same_hooks(front, ca_bundle, documents):
    db, ids = documents
    with WebProcess(**web_env(front, ca_bundle, db, GUNICORN_CMD_ARGS='--preload')) as web:
        web.wait_ready()
        result = read_documents(web.url, db, ids, 40, 4)
        assert web.stop() == 0
    assert_clean(result, 40)
    assert [line['pid'] for line in web.lines('couchgate.server', 'upstream ready')] == [web.pid]
    assert len(web.lines('couchgate.server', 'pool reset after fork')) == WORKERS
    assert total(web.json_lines(), 'new_connections') == front.accepted_connections


def test_a_pool_smaller_than_the_threads_is_a_startup_warning_and_is_raised(front, ca_bundle, documents):
    db, _ = documents
    with WebProcess(**web_env(front, ca_bundle, db, CLOUDANT_POOL_MAXSIZE='2')) as web:
        web.wait_ready()
        assert web.stop() == 0
    [warning] = [line for line in web.json_lines() if line['level'] == 'WARNING']
    assert warning['logger'] == 'couchgate.server'
    assert 'CLOUDANT_POOL_MAXSIZE=2 is below GUNICORN_THREADS=4' in warning['message']
    # Nothing before the fork: without preload_app the master never touches the upstream.
    assert web.lines('couchgate.server', 'upstream ready') == []
    closed = web.lines('couchgate.server', 'pool closed')
    assert sorted(line['pid'] for line in closed) == sorted(web.worker_pids())
