"""A flaky upstream, injected by the fault proxy: what clients see, and what happens at the server."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.pouch import free_port
from tests.support.problems import assert_problem

# Small timeouts keep the slow scenarios quick; BOUND is the generous "returns within" of the issue.
FAST = {'CLOUDANT_CONNECT_TIMEOUT': '2', 'CLOUDANT_READ_TIMEOUT': '2'}
BOUND = 10.0
pytestmark = pytest.mark.app_env(upstream='proxy', **FAST)  # the app's upstream: the fault proxy
UPSTREAM_FAILURE = {502: 'bad-gateway', 503: 'upstream-unavailable', 504: 'upstream-timeout'}


@pytest.fixture
def db(make_db, couch_admin):
    name = make_db()
    assert couch_admin.put(f'{name}/a', json={'k': 1}).status_code == 201
    return name


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def seen(proxy):
    return [(r.method, r.path) for r in proxy.requests]


def stored(couch_admin, db) -> int:
    """Documents in the database, counted at the server."""
    return couch_admin.get(f'{db}/_all_docs').json()['total_rows']


def test_latency_below_the_read_timeout_only_slows_requests_down(proxy, client, db):
    proxy.add_latency(0.5)
    assert client.simulate_get(f'/v1/{db}/docs/a').status_code == 200
    assert seen(proxy) == [('GET', f'/{db}/a')]


def test_latency_above_the_read_timeout_is_a_504_and_the_read_is_not_repeated(proxy, client, db):
    proxy.add_latency(30)
    result, took = timed(lambda: client.simulate_get(f'/v1/{db}/docs/a'))
    assert_problem(result, 504, 'upstream-timeout')
    assert took < BOUND
    assert seen(proxy) == [('GET', f'/{db}/a')]


def test_a_blackhole_is_a_504_within_the_read_timeout_and_frees_every_thread(proxy, make_client, db):
    client = make_client(GUNICORN_THREADS='16')
    get = lambda _: timed(lambda: client.simulate_get(f'/v1/{db}/docs/a'))  # noqa: E731
    proxy.blackhole()
    with ThreadPoolExecutor(16) as pool:
        hung = list(pool.map(get, range(16)))
    for result, took in hung:
        assert_problem(result, 504, 'upstream-timeout')
        assert took < BOUND
    assert len(proxy.requests) == 16  # sent once each, never repeated into the hole
    proxy.heal()
    with ThreadPoolExecutor(16) as pool:
        assert [result.status_code for result, _ in pool.map(get, range(16))] == [200] * 16
    print(f'\nblackhole: 16 x 504 in at most {max(t for _, t in hung):.1f} s; then 16 x 200')


def test_refused_connections_are_a_503_with_retry_after_and_a_write_is_not_applied(
    proxy, client, db, couch_admin
):
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
    proxy.refuse()
    read, took = timed(lambda: client.simulate_get(f'/v1/{db}/docs/a'))
    assert_problem(read, 503, 'upstream-unavailable')
    assert read.headers['retry-after'] and took < BOUND
    write = client.simulate_post(f'/v1/{db}/docs', json={'k': 2})
    assert_problem(write, 503, 'upstream-unavailable')
    assert 'may have been applied' not in write.json['detail']  # refused: not a byte was sent
    proxy.accept()
    assert client.simulate_get(f'/v1/{db}/docs/a').status_code == 200
    assert proxy.accepted_connections == 2
    assert stored(couch_admin, db) == 1


@pytest.mark.parametrize('after_head', [False, True], ids=['before-the-answer', 'mid-answer'])
def test_a_post_cut_off_after_it_was_sent_is_never_repeated(proxy, client, db, couch_admin, after_head):
    proxy.reset_next(after_head=after_head)
    result, took = timed(lambda: client.simulate_post(f'/v1/{db}/docs', json={'marker': 'once'}))
    assert result.status_code in (502, 503, 504)
    assert_problem(result, result.status_code, UPSTREAM_FAILURE[result.status_code])
    assert 'may have been applied' in result.json['detail'] and took < BOUND
    assert seen(proxy) == [('POST', f'/{db}')]
    rows = couch_admin.get(f'{db}/_all_docs', params={'include_docs': 'true'}).json()['rows']
    copies = [row for row in rows if row['doc'].get('marker') == 'once']
    assert len(copies) == 1  # applied once, by the one request the server got
    print(
        f'\nreset {"mid" if after_head else "before"} answer of a POST: client {result.status_code}, '
        f'POSTs at the server {len(proxy.requests)}, copies stored {len(copies)}'
    )


def test_a_put_that_creates_is_not_repeated_after_a_reset(proxy, client, db, couch_admin):
    proxy.reset_next(after_head=False)
    result = client.simulate_put(f'/v1/{db}/docs/new', json={'k': 1})
    assert_problem(result, 503, 'upstream-unavailable')
    assert 'may have been applied' in result.json['detail']
    assert seen(proxy) == [('PUT', f'/{db}/new')]
    assert couch_admin.get(f'{db}/new').json()['_rev'].startswith('1-')


def test_a_read_cut_off_before_its_answer_is_repeated_and_succeeds(proxy, client, db):
    proxy.reset_next(after_head=False)
    result = client.simulate_get(f'/v1/{db}/docs/a')
    assert result.status_code == 200 and result.json['k'] == 1
    assert seen(proxy) == [('GET', f'/{db}/a')] * 2
    assert proxy.accepted_connections == 2


def test_a_429_burst_within_the_retry_budget_is_absorbed(proxy, client, db):
    proxy.answer_next(2, 429, retry_after=1)
    result, took = timed(lambda: client.simulate_get(f'/v1/{db}/docs/a'))
    assert result.status_code == 200 and took < BOUND
    assert proxy.count('GET', f'/{db}/a', 429) == 2
    assert proxy.count('GET', f'/{db}/a', 200) == 1
    print(f'\n429 x 2 then 200: client 200 after {took:.1f} s; GETs at the proxy {len(proxy.requests)}')


def test_a_429_burst_longer_than_the_budget_reaches_the_client_with_retry_after(proxy, client, db):
    proxy.answer_next(5, 429, retry_after=1)
    result, took = timed(lambda: client.simulate_get(f'/v1/{db}/docs/a'))
    assert_problem(result, 429, 'too-many-requests')
    assert result.headers['retry-after'] == '1' and took < BOUND
    assert proxy.count('GET', f'/{db}/a', 429) == 3  # the request and CLOUDANT_MAX_RETRIES=2 repeats
    print(f'\n429 x 5: client 429 Retry-After 1 after {took:.1f} s; GETs at the proxy {len(proxy.requests)}')


def test_a_retry_after_above_the_cap_is_passed_on_not_waited_for(proxy, client, db):
    proxy.answer_next(1, 429, retry_after=120)
    result, took = timed(lambda: client.simulate_get(f'/v1/{db}/docs/a'))
    assert_problem(result, 429, 'too-many-requests')
    assert result.headers['retry-after'] == '120' and took < BOUND
    assert seen(proxy) == [('GET', f'/{db}/a')]


def test_a_503_is_retried_for_reads(proxy, client, db):
    proxy.answer_next(1, 503, retry_after=0)
    assert client.simulate_get(f'/v1/{db}/docs/a').status_code == 200
    assert proxy.count('GET', f'/{db}/a', 503) == 1 and proxy.count('GET', f'/{db}/a', 200) == 1


def test_a_503_that_outlasts_the_budget_is_a_502(proxy, client, db):
    proxy.answer_next(3, 503, retry_after=0)
    assert_problem(client.simulate_get(f'/v1/{db}/docs/a'), 502, 'bad-gateway')
    assert proxy.count('GET', f'/{db}/a', 503) == 3


def test_throttled_posts_and_creating_puts_are_never_repeated(proxy, client, db, couch_admin):
    proxy.answer_next(2, 429, retry_after=1)
    post = client.simulate_post(f'/v1/{db}/docs', json={'k': 2})
    put = client.simulate_put(f'/v1/{db}/docs/new', json={'k': 3})
    assert_problem(post, 429, 'too-many-requests')
    assert_problem(put, 429, 'too-many-requests')
    assert post.headers['retry-after'] == put.headers['retry-after'] == '1'
    assert seen(proxy) == [('POST', f'/{db}'), ('PUT', f'/{db}/new')]
    assert stored(couch_admin, db) == 1


def test_a_throttled_update_with_a_rev_is_retried(proxy, client, db, couch_admin):
    rev = couch_admin.get(f'{db}/a').json()['_rev']
    proxy.answer_next(1, 429, retry_after=1)
    result = client.simulate_put(f'/v1/{db}/docs/a', json={'k': 2}, headers={'If-Match': f'"{rev}"'})
    assert result.status_code == 200
    assert proxy.count('PUT', f'/{db}/a', 429) == 1 and proxy.count('PUT', f'/{db}/a', 201) == 1
    assert couch_admin.get(f'{db}/a').json()['_rev'].startswith('2-')


def test_after_idle_connections_are_closed_every_read_reconnects_without_an_error(proxy, make_client, db):
    client = make_client(GUNICORN_THREADS='16')
    get = lambda _: client.simulate_get(f'/v1/{db}/docs/a').status_code  # noqa: E731
    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(get, range(64))) == [200] * 64
        opened = proxy.accepted_connections
        assert proxy.close_idle_connections() >= 1
        assert list(pool.map(get, range(64))) == [200] * 64
    assert opened <= 16 and opened < proxy.accepted_connections <= opened + 16
    assert proxy.open_connections <= 16


class Nowhere:
    """An upstream address where nothing listens."""

    def __init__(self) -> None:
        self.url = f'https://127.0.0.1:{free_port()}'


def test_readyz_is_503_when_nothing_listens(make_client):
    result = make_client(upstream=Nowhere()).simulate_get('/readyz')
    assert result.status_code == 503 and result.headers['retry-after']
