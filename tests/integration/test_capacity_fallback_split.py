"""The split while Redis is away, learnt while it answers: each script call records its worker as
alive and answers how many workers of every dyno were seen lately, in the same round trip."""

from __future__ import annotations

import multiprocessing

import pytest
import redis

from api.capacity import shared_windows
from api.capacity.budget import Budget
from api.capacity.shared_windows import SharedWindows, Spend, Window
from tests.support.poll import wait_for
from tests.support.redis_server import RedisServer

READS = Spend(Window(20, 60.0), ('capacity', 'reads'))  # one window outlasts each test


def script_calls(url: str) -> int:
    stats = redis.Redis.from_url(url).info('commandstats')
    return sum(v['calls'] for k, v in stats.items() if k in ('cmdstat_evalsha', 'cmdstat_eval'))


def test_each_call_records_its_worker_and_answers_how_many_are_alive_in_the_same_round_trip(redis_server):
    one, two = SharedWindows(redis_server.url), SharedWindows(redis_server.url)  # two workers
    one.take([READS], 60.0)  # loads the script
    before = script_calls(redis_server.url)
    assert one.workers_seen == 1
    two.take([READS], 60.0)
    assert two.workers_seen == 2
    one.take([READS], 60.0)
    assert one.workers_seen == 2  # seen again: still two
    assert script_calls(redis_server.url) - before == 2


def _take_in_child(windows: SharedWindows) -> None:
    windows.take([READS], 60.0)


def test_a_worker_forked_after_the_guard_was_built_has_an_id_of_its_own(redis_server):
    windows = SharedWindows(redis_server.url)  # built before the fork, as with --preload
    windows.take([READS], 60.0)
    child = multiprocessing.get_context('fork').Process(target=_take_in_child, args=(windows,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    windows.take([READS], 60.0)
    assert windows.workers_seen == 2


def test_a_worker_not_seen_for_a_while_is_forgotten(redis_server, monkeypatch):
    monkeypatch.setattr(shared_windows, 'WORKERS_SEEN_FOR', 0.5)
    gone, busy = SharedWindows(redis_server.url), SharedWindows(redis_server.url)
    gone.take([READS], 60.0)
    busy.take([READS], 60.0)
    assert busy.workers_seen == 2

    def forgotten() -> bool:
        busy.take([READS], 60.0)
        return busy.workers_seen == 1

    wait_for(forgotten, 'the idle worker forgotten', deadline=10, interval=0.05)


@pytest.mark.parametrize('web_concurrency', [1, 2])
def test_without_redis_a_worker_takes_its_share_of_every_worker_seen_on_every_dyno(web_concurrency):
    with RedisServer() as server:
        workers = [SharedWindows(server.url) for _ in range(4)]  # two dynos of two workers, say
        for windows in workers:
            windows.take([Spend(Window(1000, 60.0), ('capacity', 'other'))], 60.0)
        budget = Budget(workers[0], window=60.0)
        budget.take([READS], web_concurrency)  # while Redis answers: this worker learns of four
        assert workers[0].workers_seen == 4
    assert not any(s.fits for s in budget.take([READS], web_concurrency))  # the hold at the switch
    budget._hold_until = 0  # the hold passed
    admitted = 0
    while all(s.fits for s in budget.take([READS], web_concurrency)):
        admitted += 1
    assert admitted == 20 // 4  # not 20 ÷ WEB_CONCURRENCY
