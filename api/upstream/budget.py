"""Sliding one-second windows shared through Redis, with a per-worker split while Redis is away.

The counting is the `limits` library's moving window (atomic in Redis: one Lua call per hit).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import redis
from limits import RateLimitItemPerSecond, storage, strategies
from limits.errors import StorageError

log = logging.getLogger('couchgate.capacity')

# Cloudant's window is any 1,000 ms; ours is a little longer (CLOUDANT_CAPACITY_MARGIN), because a
# request admitted here reaches Cloudant a little later, and not always in the order it was admitted.
WINDOW = 1.1
REDIS_TIMEOUT = 0.1  # seconds: a slow Redis must not slow every upstream call
RETRY_SHARED_EVERY = 1.0  # seconds between attempts to return to Redis after it failed
_REDIS_ERRORS = (redis.exceptions.RedisError, StorageError, OSError)


class Window(RateLimitItemPerSecond):
    """`amount` units in any `seconds` seconds (a little more than Cloudant's one)."""

    __slots__ = ('seconds',)  # limits' items have slots

    def __init__(self, amount: int, seconds: float = WINDOW) -> None:
        self.seconds = seconds  # first: limits' constructor asks for the expiry
        super().__init__(amount)

    def get_expiry(self) -> int:
        return self.seconds  # type: ignore[return-value]  # limits' storages compare floats; see _Redis


class _Redis(storage.RedisStorage):
    # limits' own script, with an expiry in milliseconds: Redis' EXPIRE takes whole seconds only.
    def initialize_storage(self, _uri: str) -> None:
        super().initialize_storage(_uri)
        script = self.SCRIPT_ACQUIRE_MOVING_WINDOW.replace(
            b"redis.call('expire', KEYS[1], expiry)",
            b"redis.call('pexpire', KEYS[1], math.ceil(expiry * 1000))",
        )
        assert b'pexpire' in script, 'limits changed its moving-window script: check _Redis'
        self.lua_acquire_moving_window = self.get_connection().register_script(script)


def redis_storage(url: str) -> storage.RedisStorage:
    """limits' Redis storage with short timeouts and no retries: a failure falls back at once."""
    options: dict[str, Any] = {
        'socket_timeout': REDIS_TIMEOUT,
        'socket_connect_timeout': REDIS_TIMEOUT,
        'retry': redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        'health_check_interval': 0,
    }
    if url.startswith('rediss://') and 'ssl_cert_reqs' not in url:
        # Heroku Key-Value Store serves TLS with a self-signed chain: encrypted, not verified
        # (Heroku's documented setting); a REDIS_URL with ?ssl_cert_reqs=required verifies instead.
        options['ssl_cert_reqs'] = 'none'
    return _Redis(url, key_prefix='couchgate', **options)


class Budget:
    """Hits on named windows: in Redis when there is one and it answers, else in this worker's memory."""

    def __init__(
        self, shared: storage.RedisStorage | None, listener: Any = None, window: float = WINDOW
    ) -> None:
        self.window = window
        self._shared = strategies.MovingWindowRateLimiter(shared) if shared is not None else None
        self._local: strategies.MovingWindowRateLimiter | None = None
        self._lock = threading.Lock()
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

    def hit(self, item: Window, *ids: str, cost: int = 1, split: int = 1) -> bool:
        """Spend `cost` units of `item` if they fit; `split`: the worker's share while Redis is away."""
        return self._run('hit', item, ids, cost, split)

    def stats(self, item: Window, *ids: str, split: int = 1) -> tuple[float, int]:
        """(seconds until the window has room, units in use)."""
        window_start, used = self._run('stats', item, ids, 0, split)
        return max(0.0, window_start + self.window - time.time()), used

    def _run(self, what: str, item: Window, ids: tuple[str, ...], cost: int, split: int) -> Any:
        shared = self._shared
        if shared is not None and self._may_use_shared():
            if self.sharing and self._hold_until > time.time():
                return self._held(what, item)
            try:
                result = self._on(shared, what, item, ids, cost)
            except _REDIS_ERRORS as e:
                self._fell_back(e)
            else:
                return self._held(what, item) if self._came_back() else result
        if self._hold_until > time.time():
            return self._held(what, item)
        return self._on(self._local_limiter(), what, _share(item, split), ids, cost)

    def _held(self, what: str, item: Window) -> Any:
        # As a full window that empties when the hold ends.
        return False if what == 'hit' else (self._hold_until - self.window, item.amount)

    @staticmethod
    def _on(
        limiter: strategies.MovingWindowRateLimiter, what: str, item: Window, ids: tuple[str, ...], cost: int
    ) -> Any:
        if what == 'hit':
            # A bulk write larger than the whole capacity spends all of it, rather than never going.
            return limiter.hit(item, *ids, cost=min(cost, item.amount))
        window: Any = limiter.storage  # both storages have get_moving_window (limits' MovingWindowSupport)
        return window.get_moving_window(item.key_for(*ids), item.amount, item.get_expiry())

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
