"""The capacity guard's parts without a server: classes and costs, settings, the per-worker split,
quotas, Redis away, and the RateLimit headers (the proofs against the emulator: tests/e2e)."""

from __future__ import annotations

import logging

import pytest

from api.config import ConfigError, Settings
from api.config.capacity import PerClass
from api.errors import Problem
from api.upstream.budget import Budget
from api.upstream.capacity import CapacityGuard, CapacityListener
from api.upstream.capacity_setup import capacity_guard
from api.upstream.connections import UpstreamRecord, start_recording, stop_recording
from api.upstream.rate_limit_headers import rate_limit_headers
from api.upstream.request_classes import classify
from api.upstream.shared_windows import SharedWindows
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
