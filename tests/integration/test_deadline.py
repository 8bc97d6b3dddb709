"""One deadline per request (CLOUDANT_REQUEST_DEADLINE) covers the upstream's whole answer, its body
too: an upstream that trickles its answer gets the client a 504 problem, not a 200 after minutes, and
the time spent downloading bodies shows in Server-Timing and the request log."""

from __future__ import annotations

import re
import secrets
import time

import pytest
from falcon import testing

from api.errors import Problem
from tests.support.api_keys import KEY_HEADER
from tests.support.delay_proxy import DelayProxy
from tests.support.request_log import capture_request_lines, export_lines, request_lines

DEADLINE = 3.0
MARGIN = 3.0  # liveness: the answer comes within the deadline and this, on a loaded machine too


@pytest.fixture
def slow(pouch):
    with DelayProxy(('127.0.0.1', pouch.port)) as proxy:
        yield proxy


@pytest.fixture
def big_doc(db, couch_admin) -> str:
    body = {'_id': 'big', 'pad': secrets.token_urlsafe(300_000)}  # 400 KB that gzip cannot shrink
    assert couch_admin.put(f'{db}/big', json=body).status_code == 201
    return 'big'


def test_a_document_trickling_in_at_8_kb_a_second_gets_504_by_the_deadline(make_client, slow, db, big_doc):
    client = make_client(upstream=slow, CLOUDANT_REQUEST_DEADLINE=str(DEADLINE))
    assert client.simulate_get(f'/v1/{db}/docs/{big_doc}').status_code == 200  # unthrottled: fine
    slow.throttle(8 * 1024)
    started = time.monotonic()
    result = client.simulate_get(f'/v1/{db}/docs/{big_doc}')
    elapsed = time.monotonic() - started
    assert result.status_code == 504
    assert result.headers['content-type'] == 'application/problem+json'
    assert result.json['type'] == '/problems/upstream-timeout'
    assert elapsed < DEADLINE + MARGIN


def test_server_timing_and_the_log_count_the_download_of_a_listing(make_client, slow, db, big_doc, caplog):
    capture_request_lines(caplog)
    client = make_client(upstream=slow)
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 1})  # GET / once: how the server orders ids
    rate = 200 * 1024
    slow.throttle(rate)
    result = client.simulate_get(f'/v1/{db}/docs', params={'include_docs': 'true'})
    assert result.status_code == 200
    # The proxy takes at least bytes/rate to pass the answer on (gzipped, as it goes over the wire):
    # the upstream time cannot be less, the first KB (the head) aside.
    least_ms = 1000 * (slow.trickled - 2048) / rate
    assert slow.trickled > 100_000
    timing = re.search(r'cloudant;dur=([0-9.]+)', result.headers['server-timing'])
    assert timing is not None
    assert float(timing.group(1)) >= least_ms
    assert request_lines(caplog)[-1]['upstream_ms'] >= least_ms


@pytest.mark.app_env(EXPORT_BATCH_SIZE='1')
def test_an_export_batch_past_its_deadline_ends_the_stream_and_is_logged(
    make_client, slow, db, couch_admin, caplog
):
    capture_request_lines(caplog)
    docs = [{'_id': f'd{i}', 'pad': secrets.token_urlsafe(75_000)} for i in range(3)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    client = make_client(upstream=slow, CLOUDANT_REQUEST_DEADLINE=str(DEADLINE))
    started = []
    environ = testing.create_environ(path=f'/v1/{db}/export', headers=KEY_HEADER)
    body = client.app(environ, lambda status, headers: started.append(status))
    assert started == ['200 OK']
    chunks = iter(body)
    assert next(chunks).startswith(b'{"')  # the first batch, read before the status line
    slow.throttle(8 * 1024)
    began = time.monotonic()
    with pytest.raises(Problem) as raised:  # the status went out: the server cuts the body
        for _ in chunks:
            pass
    assert raised.value.status_code == 504
    assert time.monotonic() - began < DEADLINE + MARGIN
    body.close()
    [line] = export_lines(caplog)
    assert line['complete'] is False and 'in time' in line['error']


def test_no_retry_is_waited_for_that_cannot_end_before_the_deadline(make_client, proxy, db):
    # A 429 asking for 2 s, within CLOUDANT_RETRY_MAX_WAIT, but a deadline of 1 s: not waited for,
    # the client gets the 429 and its Retry-After at once.
    client = make_client(upstream=proxy, CLOUDANT_REQUEST_DEADLINE='1', CLOUDANT_RETRY_MAX_WAIT='3')
    proxy.answer_next(1, 429, retry_after=2)
    started = time.monotonic()
    result = client.simulate_get(f'/v1/{db}/docs/anything')
    assert result.status_code == 429 and result.headers['retry-after'] == '2'
    assert time.monotonic() - started < 2  # it did not wait for the Retry-After
    assert proxy.count('GET', f'/{db}/anything') == 1  # and sent nothing more


def test_a_write_is_bounded_by_the_deadline_too(make_client, proxy, db):
    client = make_client(upstream=proxy, CLOUDANT_REQUEST_DEADLINE='1', CLOUDANT_READ_TIMEOUT='20')
    proxy.add_latency(DEADLINE)
    started = time.monotonic()
    result = client.simulate_put(f'/v1/{db}/docs/late', json={'a': 1})
    assert result.status_code == 504
    assert 'may have been applied' in result.json['detail']
    assert time.monotonic() - started < 1 + MARGIN
