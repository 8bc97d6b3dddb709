"""The capacity windows: shared through Redis, with a per-worker split while Redis is away.

Shared, they live in Redis (api/capacity/shared_windows.py); the fall-back counts in this worker's
memory with the `limits` library's moving window, each worker taking capacity ÷ the workers it knows
of: WEB_CONCURRENCY, or, if more, every worker of every dyno Redis saw within WORKERS_SEEN_FOR (each
script call records its worker and answers that count). What remains: a dyno started while Redis was
already away, or whose workers had not yet reached Redis, knows only its own WEB_CONCURRENCY; a worker
idle for longer than WORKERS_SEEN_FOR before Redis went away, or a dyno added while it is away, is
not counted by the others. Each of these can send more than the capacity until Redis is back.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from typing import Any

import redis
from limits import storage, strategies

from api.capacity.shared_windows import WINDOW, SharedWindows, Spend, State, Window

log = logging.getLogger('couchgate.capacity')

RETRY_SHARED_EVERY = 1.0  # seconds between attempts to return to Redis after it failed
_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)


class Budget:
    """Windows spent together: in Redis when there is one and it answers, else in this worker's memory."""

    def __init__(self, shared: SharedWindows | None, listener: Any = None, window: float = WINDOW) -> None:
        self.window = window
        self._shared = shared
        self._local: strategies.MovingWindowRateLimiter | None = None
        self._lock = threading.Lock()
        self._here_lock = threading.Lock()  # the fall-back windows: tested and spent as one step
        self._retry_shared_at = 0.0  # 0: Redis is in use (or there is none)
        # At each switch nothing goes for a while (until this time.time()), or the instance could
        # see double: after a fall-back this worker's own windows start empty while the shared ones
        # were full; after a return, other workers may still spend their own share for up to
        # RETRY_SHARED_EVERY, which stays in Cloudant's window for one more window.
        self._hold_until = 0.0
        self._listener = listener

    @property
    def sharing(self) -> bool:
        """Whether the windows are shared through Redis right now."""
        return self._shared is not None and not self._retry_shared_at

    def take(self, spends: list[Spend], split: int = 1, patience: float = 0.0) -> list[State]:
        """Spend every window's cost if all fit, else none; `split`: this worker's share without Redis
        (WEB_CONCURRENCY), or the workers Redis last saw alive on every dyno if more.

        `patience`: how long the caller may wait for room (the shared windows pace by it).
        """
        # A bulk write larger than a whole window spends all of it, rather than never going.
        spends = [dataclasses.replace(s, cost=min(s.cost, s.item.amount)) for s in spends]
        shared = self._shared
        if shared is not None and self._may_use_shared():
            if self.sharing and self._hold_until > time.time():
                return self._held(spends)
            try:
                states = shared.take(spends, self.window, patience)
            except _REDIS_ERRORS as e:
                self._fell_back(e)
            else:
                return self._held(spends) if self._came_back() else states
        if self._hold_until > time.time():
            return self._held(spends)
        if shared is not None:
            # Every worker of every dyno seen while Redis answered takes its share now, not only
            # this dyno's WEB_CONCURRENCY (see SharedWindows.workers_seen for what remains).
            split = max(split, shared.workers_seen)
        return self._take_here([dataclasses.replace(s, item=_share(s.item, split)) for s in spends])

    def _held(self, spends: list[Spend]) -> list[State]:
        # As full windows that empty when the hold ends.
        reset = max(0.0, self._hold_until - time.time())
        return [State(False, s.item.amount, reset) for s in spends]

    def _take_here(self, spends: list[Spend]) -> list[State]:
        limiter = self._local_limiter()
        # limits' hit is a check and a spend in one step, but of one window only: a call spends a
        # key's quota and the capacity together or not at all, and a hit cannot be undone when the
        # next window refuses. Its memory storage also drops a key's lock when the window empties,
        # even while a thread holds it. So this worker's windows are tested and hit under one lock of
        # the Budget's: no thread of this worker checks or spends in between.
        with self._here_lock:
            fits = all(limiter.test(s.item, *s.ids, cost=s.cost) for s in spends)
            if fits:
                for s in spends:
                    # Under the lock, a hit cannot refuse what its test admitted (time only frees
                    # room); if one ever does, the call does not go, and what was spent stays spent:
                    # fewer calls, never more.
                    if not limiter.hit(s.item, *s.ids, cost=s.cost):
                        fits = False
                        break
            return [self._state_here(limiter, s, fits) for s in spends]

    def _state_here(self, limiter: strategies.MovingWindowRateLimiter, spend: Spend, fits: bool) -> State:
        memory: Any = limiter.storage  # limits' MemoryStorage: get_moving_window (MovingWindowSupport)
        item = spend.item
        start, used = memory.get_moving_window(item.key_for(*spend.ids), item.amount, item.get_expiry())
        fit = fits or used + spend.cost <= item.amount
        return State(fit, used, max(0.0, start + self.window - time.time()) if used else 0.0)

    def _may_use_shared(self) -> bool:
        return not self._retry_shared_at or time.monotonic() >= self._retry_shared_at

    def _fell_back(self, error: BaseException) -> None:
        with self._lock:
            first = not self._retry_shared_at
            self._retry_shared_at = time.monotonic() + RETRY_SHARED_EVERY
            if first:
                self._hold_until = time.time() + self.window
        if first:
            # The gauge before the line: whoever reads the line finds the gauge already telling it.
            if self._listener is not None:
                self._listener.capacity_shared(False)
            log.warning(
                'Redis unreachable (%s): each worker now takes its share of the capacity until it is back',
                type(error).__name__,
            )

    def _came_back(self) -> bool:
        """Whether this call found Redis back after a fall-back (then a hold starts)."""
        if not self._retry_shared_at:
            return False
        with self._lock:
            back, self._retry_shared_at = bool(self._retry_shared_at), 0.0
            if back:
                self._hold_until = time.time() + RETRY_SHARED_EVERY + self.window
        if back:
            if self._listener is not None:
                self._listener.capacity_shared(True)
            log.warning('Redis is back: the capacity is shared by all workers again')
        return back

    def _local_limiter(self) -> strategies.MovingWindowRateLimiter:
        # Made on first use, in the worker: MemoryStorage starts a timer thread, which fork() loses.
        if self._local is None:
            with self._lock:
                if self._local is None:
                    self._local = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        return self._local


def _share(item: Window, split: int) -> Window:
    return item if split <= 1 else Window(max(1, math.floor(item.amount / split)), item.seconds)
