"""The capacity windows in a real Redis: a call's windows spent together, in one round trip each."""

from __future__ import annotations

import pytest
import redis

from api.upstream.shared_windows import SharedWindows, Spend, Window
from tests.support.redis_server import RedisServer


@pytest.fixture(scope='module')
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture
def windows(redis_server) -> SharedWindows:
    redis.Redis.from_url(redis_server.url).flushall()
    return SharedWindows(redis_server.url)


def script_calls(url: str) -> int:
    stats = redis.Redis.from_url(url).info('commandstats')
    return sum(v['calls'] for k, v in stats.items() if k in ('cmdstat_evalsha', 'cmdstat_eval'))


def test_each_take_is_one_round_trip_and_reports_use_and_reset(windows, redis_server):
    reads = Spend(Window(5), ('capacity', 'reads'))
    windows.take([reads], 1.0)  # loads the script
    before = script_calls(redis_server.url)
    states = [windows.take([reads], 1.0)[0] for _ in range(5)]
    assert script_calls(redis_server.url) - before == 5
    assert [s.used for s in states] == [2, 3, 4, 5, 5]
    assert [s.fits for s in states] == [True, True, True, True, False]
    assert all(0 < s.reset <= 1.0 for s in states)


def test_a_quota_is_not_spent_when_the_capacity_refuses(windows):
    capacity = Spend(Window(2), ('capacity', 'writes'))
    quota = Spend(Window(10), ('quota', 'k', 'writes'))
    assert [s.fits for s in windows.take([quota, capacity], 1.0)] == [True, True]
    assert [s.fits for s in windows.take([quota, capacity], 1.0)] == [True, True]
    refused = windows.take([quota, capacity], 1.0)
    assert [s.fits for s in refused] == [True, False]
    assert [s.used for s in refused] == [2, 2]  # the quota still holds only the two that went


def test_a_cost_of_several_units_needs_room_for_all_of_them(windows):
    writes = Spend(Window(10), ('capacity', 'writes'), cost=7)
    assert windows.take([writes], 1.0)[0].used == 7
    second = windows.take([writes], 1.0)[0]
    assert not second.fits and second.used == 7
    assert windows.take([Spend(Window(10), ('capacity', 'writes'), cost=3)], 1.0)[0].used == 10
