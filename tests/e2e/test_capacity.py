"""The capacity guard from outside: gunicorn workers and a real Redis before the capacity emulator,
which counts what reached the database each second (issue 13's proofs)."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.capacity_emulator import CapacityEmulator
from tests.support.gunicorn_process import WebProcess
from tests.support.offered_load import offer
from tests.support.poll import wait_for
from tests.support.web import seed_documents

READS = 20  # Lite's capacity: five times that is offered
CAPACITY = f'reads={READS},writes=10,queries=5'


@pytest.fixture
def db(make_db, couch_admin):
    name = make_db()
    seed_documents(couch_admin, name, 10)
    return name


@pytest.fixture
def emulator(pouch):
    with CapacityEmulator(pouch.url, read=READS, write=10, query=5) as emulator:
        yield emulator


@contextlib.contextmanager
def couchgate(emulator, db, redis_url: str | None, **env: str):
    """The web line: two workers of eight threads, the guard on, upstream through the emulator."""
    settings = {
        'CLOUDANT_URL': emulator.url,
        'CLOUDANT_DATABASES': db,
        'CLOUDANT_CAPACITY': CAPACITY,
        'WEB_CONCURRENCY': '2',
        'GUNICORN_THREADS': '8',
        **env,
    }
    if redis_url:
        settings['REDIS_URL'] = redis_url
    with WebProcess(**settings) as web:
        web.wait_ready('/healthz')  # no upstream call: the emulator counts only the load
        yield web


def reads(web, db, key: str | None = None):
    headers = {'Authorization': f'Bearer {key}'} if key else {}
    return lambda session: session.get(f'{web.url}/v1/{db}/docs/doc-001', headers=headers, timeout=30)


def assert_within_capacity(emulator) -> None:
    assert emulator.refused == {'read': 0, 'write': 0, 'query': 0}
    assert 0 < emulator.most_in_any_second('read') <= READS


def test_five_times_the_read_capacity_gets_no_429_from_the_database(emulator, db, redis_server):
    with couchgate(emulator, db, redis_server.url) as web:
        answers = offer(reads(web, db), rate=5 * READS, seconds=4)
        assert 'Redis unreachable' not in web.output()
    assert_within_capacity(emulator)
    assert {a.status for a in answers} <= {200, 429}
    refused = [a for a in answers if a.status == 429]
    assert refused and {a.problem_type for a in refused} == {'capacity-exceeded'}
    assert all(a.retry_after and a.retry_after.isdigit() and int(a.retry_after) >= 1 for a in refused)
    assert all(a.rate_limit and a.rate_limit.startswith('"reads";r=') for a in answers)
    assert all(a.rate_limit_policy == f'"reads";q={READS};w=1' for a in answers)


def test_two_instances_on_one_redis_stay_within_one_capacity_together(emulator, db, redis_server):
    with couchgate(emulator, db, redis_server.url) as one, couchgate(emulator, db, redis_server.url) as two:
        results: dict[str, list] = {}
        threads = [
            threading.Thread(target=lambda w=w, n=n: results.update({n: offer(reads(w, db), 2.5 * READS, 4)}))
            for n, w in (('one', one), ('two', two))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert_within_capacity(emulator)
    assert all(a.status in (200, 429) for answers in results.values() for a in answers)
    # Both got a share: neither instance starved the other.
    assert all(any(a.status == 200 for a in answers) for answers in results.values())


def test_each_key_gets_what_its_quota_allows(emulator, db, redis_server):
    quotas = {'small': 2, 'medium': 4, 'large': 8}  # together within the capacity
    keys = [
        {'name': name, 'key': f'{name}-key-0123456789', 'scopes': ['read'], 'quota': {'reads': q}}
        for name, q in quotas.items()
    ]
    results: dict[str, list] = {}
    elapsed: dict[str, float] = {}

    def client(web, name: str) -> None:
        started = time.monotonic()
        results[name] = offer(reads(web, db, f'{name}-key-0123456789'), 3 * quotas[name], 4)
        elapsed[name] = time.monotonic() - started  # answers may lag the schedule: the span they took

    # A short queue: refusals come back at once, so the clients keep to their schedule.
    with couchgate(
        emulator, db, redis_server.url, API_KEYS=json.dumps(keys), CLOUDANT_QUEUE_MAX_WAIT='0.1'
    ) as web:
        threads = [threading.Thread(target=client, args=(web, name)) for name in quotas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert_within_capacity(emulator)
    for name, quota in quotas.items():
        answers = results[name]
        ok = sum(a.status == 200 for a in answers)
        # A sliding window of ~1 s: at most one window's worth beyond quota x time, and not much less.
        assert quota * (elapsed[name] - 1.5) <= ok <= quota * (elapsed[name] + 1), (name, ok, elapsed[name])
        assert {a.problem_type for a in answers if a.status == 429} == {'quota-exceeded'}
        assert all(f'"quota-reads";q={quota};w=1' in (a.rate_limit_policy or '') for a in answers)
    # The emulator's count agrees: the keys together got their quotas, not the whole capacity.
    assert emulator.most_in_any_second('read') <= sum(quotas.values())


def test_redis_killed_and_restarted_under_load_no_5xx_fallback_then_recovery(emulator, db, redis_server):
    with couchgate(emulator, db, redis_server.url) as web:
        answers: list = []
        load = threading.Thread(target=lambda: answers.extend(offer(reads(web, db), 3 * READS, 12)))
        load.start()
        wait_for(lambda: emulator.most_in_any_second('read') > 0, 'the load to reach the database')
        killed = time.time()
        redis_server.stop()
        # Down until a worker has noticed (each says so once; one the load misses cannot), then back.
        web.wait_for(lambda: 'Redis unreachable' in web.output(), what='the fall-back line')
        fallen_back = scrape(web)
        redis_server.start()
        web.wait_for(lambda: 'Redis is back' in web.output(), what='the recovery line')
        back = time.time()
        load.join()
        # A worker finds Redis back on its next call: keep reading until every worker has.
        wait_for(
            lambda: reads(web, db)(requests).ok and scrape(web)['couchgate_capacity_shared'] == 1, 'both back'
        )
    assert all(a.status in (200, 429) for a in answers), {a.status for a in answers}
    # A worker the load did not reach while Redis was away never fell back, and a Redis restarted
    # empty forgets its window (docs/capacity.md, "When Redis goes away"): upstream 429s, if any, only then,
    # at most one window's worth; before the kill and once every worker is back (the holds), none.
    throttled = emulator.refused_at('read')
    assert len(throttled) <= READS
    assert all(killed <= t <= back + 2 * 1.1 + 1 for t in throttled), (killed, back, throttled)
    assert fallen_back['couchgate_capacity_shared'] == 0


def scrape(web) -> dict[str, float]:
    """The unlabelled samples of /metrics."""
    text = requests.get(web.url + '/metrics', timeout=10).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }
