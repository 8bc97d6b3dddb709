"""The capacity windows in a real Redis: a call's windows spent together, in one round trip each."""

from __future__ import annotations

import pytest
import redis

from api.capacity.shared_windows import SharedWindows, Spend, Window
from tests.support.poll import wait_for
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


def test_a_paced_window_refills_a_fifth_at_a_time_and_still_fills(windows):
    reads = Spend(Window(20), ('capacity', 'reads'), paced=True)
    first = [windows.take([reads], 2.0, patience=1.0)[0] for _ in range(5)]
    assert [s.fits for s in first] == [True] * 4 + [False]  # a fifth of the limit in a fifth of 2 s
    assert 0 < first[-1].reset <= 0.4
    taken = [s for s in first if s.fits]

    def fill() -> bool:
        taken.extend(s for s in windows.take([reads], 2.0, patience=1.0) if s.fits)
        return len(taken) == 20

    # Four every 0.4 s: the twentieth at 1.6 s, and the window full until the first leaves it at 2 s.
    wait_for(fill, 'twenty reads admitted in one window', deadline=5, interval=0.01)
    assert taken[-1].used == 20
    assert not windows.take([reads], 2.0, patience=1.0)[0].fits


def test_pacing_never_refuses_a_call_that_cannot_wait(windows):
    reads = Spend(Window(20), ('capacity', 'reads'), paced=True)
    assert all(windows.take([reads], 1.0, patience=0.0)[0].fits for _ in range(20))
    assert not windows.take([reads], 1.0, patience=0.0)[0].fits  # the window itself still refuses


def test_a_quota_is_not_spent_when_the_capacity_refuses(windows):
    capacity = Spend(Window(2), ('capacity', 'writes'))
    quota = Spend(Window(100), ('quota', 'k', 'writes'))
    assert [s.fits for s in windows.take([quota, capacity], 1.0)] == [True, True]
    assert [s.fits for s in windows.take([quota, capacity], 1.0)] == [True, True]
    refused = windows.take([quota, capacity], 1.0)
    assert [s.fits for s in refused] == [True, False]
    assert [s.used for s in refused] == [2, 2]  # the quota still holds only the two that went


def test_a_cost_of_several_units_needs_room_for_all_of_them(windows):
    assert windows.take([Spend(Window(10), ('capacity', 'writes'), cost=7)], 1.0)[0].used == 7
    second = windows.take([Spend(Window(10), ('capacity', 'writes'), cost=7)], 1.0)[0]
    assert not second.fits and second.used == 7 and second.reset > 0.1  # only the window frees it
    three = Spend(Window(10), ('capacity', 'writes'), cost=3)
    wait_for(lambda: windows.take([three], 1.0)[0].fits, 'room for three more', deadline=5, interval=0.01)
    assert windows.take([three], 1.0)[0].used == 10
