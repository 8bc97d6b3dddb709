"""The capacity guard's parts without a server: classes and costs, settings, the per-worker split,
quotas, Redis away, and the RateLimit headers (the proofs against the emulator: tests/e2e)."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading

import pytest

from api.capacity.budget import Budget
from api.capacity.guard import CapacityGuard, CapacityListener
from api.capacity.rate_limit_headers import rate_limit_headers
from api.capacity.request_classes import classify
from api.capacity.setup import capacity_guard
from api.capacity.shared_windows import SharedWindows, Spend, Window
from api.config import ConfigError, Settings
from api.config.capacity import PerClass
from api.errors import Problem
from api.upstream.connections import UpstreamRecord, start_recording, stop_recording
from tests.support.pouch import free_port


@pytest.mark.parametrize(
    ('method', 'url', 'body', 'expected'),
    [
        ('GET', '/db/doc-1', None, ('reads', 1)),
        ('HEAD', '/db/doc-1', None, ('reads', 1)),
        ('PUT', '/db/doc-1?rev=1-a', b'{}', ('writes', 1)),
        ('DELETE', '/db/doc-1?rev=1-a', None, ('writes', 1)),
        ('POST', '/db', b'{"a": 1}', ('writes', 1)),
        ('POST', '/db/_all_docs', b'{"limit": 2}', ('queries', 1)),
        ('GET', '/db/_all_docs?limit=2', None, ('queries', 1)),
        ('POST', '/db/_find', b'{"selector": {}}', ('queries', 1)),
        ('GET', '/db/_design/d/_view/v', None, ('queries', 1)),
        ('GET', '/db/_partition/p/_all_docs', None, ('reads', 1)),
        ('POST', '/db/_bulk_docs', b'{"docs": [{}, {}, {}]}', ('writes', 3)),
        # A lookup (and a bulk's read of its conflicts): n documents by key, n reads.
        ('POST', '/db/_all_docs', b'{"keys": ["a", "b", "c", "d"], "include_docs": true}', ('reads', 4)),
        ('POST', '/db/_all_docs', '{"keys": ["a"]}', ('reads', 1)),
        ('POST', '/db/_all_docs', b'{"start_key": "keys", "end_key": "keys"}', ('queries', 1)),
        ('PUT', '/db/_local/couchgate-idempotency-x', b'{}', ('writes', 1)),
        ('GET', '/db/_local/couchgate-idempotency-x', None, ('reads', 1)),
        ('GET', '/', None, ('reads', 1)),
        ('GET', '/_up', None, ('reads', 1)),
        ('POST', '/_session', b'{"name": "u"}', ('reads', 1)),
        ('GET', '/db/_design/d', None, ('reads', 1)),
        ('GET', '/db/a%2Fb', None, ('reads', 1)),
    ],
)
def test_each_call_is_classified_and_costed_by_ibms_model(method, url, body, expected):
    assert classify(method, url, body) == expected


def test_capacity_settings():
    settings = Settings.from_env({'CLOUDANT_CAPACITY': 'reads=100,writes=50,queries=5'})
    assert settings.capacity == PerClass(100, 50, 5)
    assert Settings.from_env({'CLOUDANT_CAPACITY': 'auto'}).capacity_auto
    assert Settings.from_env({}).capacity is None
    anonymous = Settings.from_env({'API_ANONYMOUS_QUOTA': 'reads=10,queries=1'}).anonymous_quota
    assert anonymous == PerClass(reads=10, queries=1)
    # Never beyond the request's deadline.
    env = {'CLOUDANT_QUEUE_MAX_WAIT': '5', 'CLOUDANT_REQUEST_DEADLINE': '2'}
    assert Settings.from_env(env).queue_max_wait == 2


@pytest.mark.parametrize(
    'raw', ['reads=100', 'reads=100,writes=50,queries=0', 'reads=x,writes=1,queries=1', 'lookups=1']
)
def test_a_bad_capacity_stops_start_up_naming_the_variable(raw):
    with pytest.raises(ConfigError, match='CLOUDANT_CAPACITY'):
        Settings.from_env({'CLOUDANT_CAPACITY': raw})


def test_without_capacity_there_is_no_guard():
    assert capacity_guard(Settings.from_env({}), CapacityListener()) is None


class Heard(CapacityListener):
    def __init__(self) -> None:
        self.refused: list[tuple] = []
        self.shared: list[bool] = []

    def capacity_refused(self, request_class, problem_type, key):
        self.refused.append((request_class, problem_type, key))

    def capacity_shared(self, shared):
        self.shared.append(shared)


def guard(capacity: PerClass, budget: Budget | None = None, workers: int = 1, heard=None) -> CapacityGuard:
    return CapacityGuard(
        capacity, budget or Budget(None), upstream=('db', 443), workers=workers, max_wait=0.01, listener=heard
    )


@pytest.fixture
def record():
    record, token = start_recording(UpstreamRecord())
    yield record
    stop_recording(token)


def test_without_redis_each_worker_takes_its_share_then_refuses_with_retry_after(record):
    heard = Heard()
    g = guard(PerClass(reads=4, writes=2, queries=1), workers=2, heard=heard)
    assert [g.admit('GET', '/db/d', None) for _ in range(2)] == ['reads', 'reads']
    with pytest.raises(Problem) as refused:
        g.admit('GET', '/db/d', None)
    assert refused.value.status_code == 429 and refused.value.problem_type == 'capacity-exceeded'
    assert int(dict(refused.value.headers or {})['Retry-After']) >= 1
    assert dict(refused.value.headers or {})['RateLimit-Policy'] == '"reads";q=4;w=1'
    assert heard.refused == [('reads', 'capacity-exceeded', None)]
    g.admit('PUT', '/db/d', b'{}')  # another class has its own window


def test_a_key_beyond_its_quota_is_refused_before_the_capacity_is_touched(record):
    record.quota_key, record.quota = 'small', PerClass(reads=1)
    g = guard(PerClass(reads=100, writes=50, queries=5))
    g.admit('GET', '/db/d', None)
    with pytest.raises(Problem) as refused:
        g.admit('GET', '/db/d', None)
    assert refused.value.problem_type == 'quota-exceeded'
    assert '"quota-reads";q=1;w=1' in dict(refused.value.headers or {})['RateLimit-Policy']
    g.admit('POST', '/db/_find', b'{}')  # no query quota: only the capacity


def test_an_unreachable_redis_falls_back_to_the_split_and_says_so_once(record, caplog):
    heard = Heard()
    budget = Budget(SharedWindows(f'redis://127.0.0.1:{free_port()}/0'), heard)
    g = guard(PerClass(reads=50, writes=50, queries=5), budget, workers=2, heard=heard)
    with caplog.at_level(logging.WARNING, 'couchgate.capacity'):
        with pytest.raises(Problem):  # the first window after a switch is held: nothing double-spent
            g.admit('GET', '/db/d', None)
        budget._hold_until = 0  # the hold passed
        g.admit('GET', '/db/d', None)
        g.admit('GET', '/db/d', None)
    assert not budget.sharing
    assert heard.shared == [False]
    assert sum('Redis unreachable' in r.getMessage() for r in caplog.records) == 1


def test_rate_limit_headers_follow_the_ietf_draft():
    headers = rate_limit_headers({'reads': (100, 42, 1), 'quota-reads': (20, 0, 1)})
    assert headers == {
        'RateLimit-Policy': '"reads";q=100;w=1, "quota-reads";q=20;w=1',
        'RateLimit': '"reads";r=42;t=1, "quota-reads";r=0;t=1',
    }
    assert rate_limit_headers({}) == {}


def race(threads: int, call) -> None:
    """`threads` threads calling call() until it returns False, all let go at once."""
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        while call():
            pass

    # A tiny switch interval: the threads interleave between any two steps, as on a busy worker.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        racers = [threading.Thread(target=run) for _ in range(threads)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
    finally:
        sys.setswitchinterval(interval)


def test_sixteen_threads_racing_without_redis_never_admit_more_than_the_share_in_one_window():
    budget = Budget(None, window=60.0)  # one window outlasts the race: every admission counts in it
    admitted: list[int] = []

    def one_race(reads: Spend) -> int:
        taken: list[int] = []  # list.append is atomic

        def take() -> bool:
            fits = budget.take([reads], split=16)[0].fits  # a share of 160 ÷ 16 = 10
            if fits:
                taken.append(1)
            return fits

        race(16, take)
        return len(taken)

    # A race is lost only now and then: many rounds, each on a window of its own.
    for round_ in range(30):
        admitted.append(one_race(Spend(Window(160, 60.0), ('capacity', f'reads-{round_}'))))
    assert max(admitted) == 10 == min(admitted), admitted


def test_a_call_spends_its_quota_and_the_capacity_together_or_neither():
    budget = Budget(None, window=60.0)
    quota = Spend(Window(5, 60.0), ('quota', 'k', 'writes'))
    writes = Spend(Window(3, 60.0), ('capacity', 'writes'))
    assert all(s.fits for _ in range(3) for s in budget.take([quota, writes]))
    refused = budget.take([quota, writes])
    assert [s.fits for s in refused] == [True, False]
    assert [s.used for s in refused] == [3, 3]  # the quota holds only the three that went
    # And the other way round: a key at its quota spends nothing of the capacity.
    small = Spend(Window(1, 60.0), ('quota', 'small', 'reads'))
    reads = Spend(Window(10, 60.0), ('capacity', 'reads'))
    assert [s.fits for s in budget.take([small, reads])] == [True, True]
    refused = budget.take([small, reads])
    assert [s.fits for s in refused] == [False, True]
    assert [s.used for s in refused] == [1, 1]


def test_racing_keys_spend_quota_and_capacity_only_for_the_calls_that_went():
    budget = Budget(None, window=60.0)
    for round_ in range(30):  # a race is lost only now and then: many rounds, windows of their own
        capacity = Spend(Window(12, 60.0), ('capacity', f'reads-{round_}'))
        quotas = {key: Spend(Window(8, 60.0), ('quota', key, f'reads-{round_}')) for key in 'ab'}
        admitted = race_two_keys(budget, capacity, quotas)
        assert sum(admitted.values()) == 12, (round_, admitted)
        for key, spend in quotas.items():
            assert admitted[key] <= 8
            # The key's window holds exactly the calls that went (a whole-window spend only reads it).
            held = budget.take([dataclasses.replace(spend, cost=8)])[0]
            assert held.used == admitted[key] and not held.fits, (round_, key, held)


def race_two_keys(budget: Budget, capacity: Spend, quotas: dict[str, Spend]) -> dict[str, int]:
    """16 threads taking turns for keys a and b until the capacity is full; admissions by key."""
    admitted: dict[str, list[int]] = {key: [] for key in quotas}
    turn = iter(range(10**6))

    def take() -> bool:
        key = 'ab'[next(turn) % 2]
        fits = all(s.fits for s in budget.take([quotas[key], capacity]))
        if fits:
            admitted[key].append(1)
        # A thread stops once the capacity is full (a key's quota may refuse before).
        return fits or len(admitted['a']) + len(admitted['b']) < 12

    race(16, take)
    return {key: len(calls) for key, calls in admitted.items()}
