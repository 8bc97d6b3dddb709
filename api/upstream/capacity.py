"""The capacity guard: each upstream call admitted within Cloudant's capacity and the caller's quota.

Admission runs before the call is sent (retries and logins too: api/upstream/connections.py); a call
without room waits up to CLOUDANT_QUEUE_MAX_WAIT (never past the request's deadline), else it is
refused with a 429 and never sent.
"""

from __future__ import annotations

import math
import random
import threading
import time

from api.config.capacity import CLASSES, PerClass
from api.errors import Problem
from api.upstream.budget import Budget, Window
from api.upstream.connections import UpstreamRecord, current_record
from api.upstream.deadline import remaining
from api.upstream.rate_limit_headers import rate_limit_headers
from api.upstream.request_classes import CLOUDANT_NAMES, classify

STATS_EVERY = 0.25  # seconds: how old the RateLimit headers' and the gauge's counts may be


class CapacityListener:
    """Hears the guard's decisions (the metrics); this one ignores them."""

    def capacity_admitted(self, request_class: str, waited: float) -> None: ...
    def capacity_refused(self, request_class: str, problem_type: str, key: str | None) -> None: ...
    def capacity_in_use(self, request_class: str, used: int) -> None: ...
    def capacity_shared(self, shared: bool) -> None: ...
    def upstream_throttled(self, request_class: str) -> None: ...
    def request_class_disagreed(self, ours: str, theirs: str) -> None: ...


class CapacityGuard:
    """Admits upstream calls by request class within the instance's capacity and per-key quotas."""

    def __init__(
        self,
        capacity: PerClass,
        budget: Budget,
        *,
        upstream: tuple[str, int],
        workers: int = 1,
        max_wait: float = 1.0,
        max_waiting: int = 4,
        listener: CapacityListener | None = None,
    ) -> None:
        self.capacity = capacity
        self.upstream = upstream  # (host, port): calls elsewhere (an IAM token endpoint) are free
        self._budget = budget
        self._workers = workers
        self._max_wait = max_wait
        self._max_waiting = max_waiting  # threads of a worker that may wait for one window at once
        self._listener = listener or CapacityListener()
        self._windows = {c: Window(n, budget.window) for c in CLASSES if (n := capacity.of(c)) is not None}
        self._stats: dict[tuple, tuple[float, int, float]] = {}  # ids -> (when, used, reset in)
        self._stats_lock = threading.Lock()
        self._waiting: dict[tuple[str, ...], int] = {}  # ids -> threads of this worker waiting for room

    def admit(self, method: str, url: str, body: bytes | str | None) -> str:
        """Spend this call's units or raise the 429 problem; returns its request class."""
        request_class, cost = classify(method, url, body)
        record = current_record()
        left = remaining(record)
        wait = self._max_wait if left is None else max(0.0, min(self._max_wait, left))
        started = time.monotonic()
        until = started + wait
        quota = record.quota.of(request_class) if record is not None and record.quota else None
        if quota is not None:
            assert record is not None
            ids = ('quota', record.quota_key or '(anonymous)', request_class)
            self._acquire(
                Window(quota, self._budget.window), ids, cost, until, 'quota-exceeded', request_class, record
            )
        window = self._windows.get(request_class)
        if window is not None:
            capacity_ids = ('capacity', request_class)
            self._acquire(window, capacity_ids, cost, until, 'capacity-exceeded', request_class, record)
        self._listener.capacity_admitted(request_class, time.monotonic() - started)
        return request_class

    def answered(self, method: str, url: str, status: int, cloudant_class: str | None) -> None:
        """What the upstream said of an admitted call: a 429, and its own request class."""
        request_class, _ = classify(method, url)
        if status == 429:
            self._listener.upstream_throttled(request_class)
        theirs = CLOUDANT_NAMES.get((cloudant_class or '').strip().lower())
        if cloudant_class and theirs != request_class:
            self._listener.request_class_disagreed(request_class, theirs or 'other')

    def _acquire(
        self,
        window: Window,
        ids: tuple[str, ...],
        cost: int,
        until: float,
        problem_type: str,
        request_class: str,
        record: UpstreamRecord | None,
    ) -> None:
        policy = request_class if ids[0] == 'capacity' else f'quota-{request_class}'
        while True:
            if self._budget.hit(window, *ids, cost=cost, split=self._workers):
                self._note(record, policy, window, ids, fresh=False)
                return
            reset, used = self._budget.stats(window, *ids, split=self._workers)
            self._note(record, policy, window, ids, fresh=True, used=used, reset=reset)
            now = time.monotonic()
            if now + reset > until or not self._may_wait(ids, window.amount, until - now):
                self._listener.capacity_refused(request_class, problem_type, ids[1] if len(ids) > 2 else None)
                raise _refused(problem_type, request_class, reset, record)
            try:
                # A little jitter: the threads that waited for the same slot do not all ask at once.
                time.sleep(reset + random.uniform(0, 0.005))
            finally:
                with self._stats_lock:
                    self._waiting[ids] -= 1

    def _may_wait(self, ids: tuple[str, ...], amount: int, left: float) -> bool:
        # Wait only with a fair chance of room in time: no more waiters (this worker's share) than
        # the window admits in the time left. Threads held waiting in vain would starve the others.
        with self._stats_lock:
            waiting = self._waiting.get(ids, 0)
            fair_share = max(1.0, amount * left / self._budget.window / self._workers)
            if waiting >= min(fair_share, self._max_waiting):
                return False
            self._waiting[ids] = waiting + 1
        return True

    def _note(
        self,
        record: UpstreamRecord | None,
        policy: str,
        window: Window,
        ids: tuple[str, ...],
        *,
        fresh: bool,
        used: int = 0,
        reset: float = 1.0,
    ) -> None:
        # The RateLimit headers' counts: at most STATS_EVERY old, so that an admitted call costs one
        # Redis round trip and only a few per second cost two.
        now = time.monotonic()
        with self._stats_lock:
            when, used_then, reset_then = self._stats.get(ids, (0.0, 0, 1.0))
        if not fresh and now - when > STATS_EVERY:
            reset, used = self._budget.stats(window, *ids, split=self._workers)
            fresh = True
        if fresh:
            with self._stats_lock:
                self._stats[ids] = (now, used, reset)
            if ids[0] == 'capacity':
                self._listener.capacity_in_use(ids[1], used)
        else:
            used, reset = used_then, max(0.0, reset_then - (now - when))
        if record is not None:
            left = max(0, window.amount - used)
            record.rate_limits[policy] = (window.amount, left, max(1, math.ceil(reset)))


def _refused(problem_type: str, request_class: str, reset: float, record: UpstreamRecord | None) -> Problem:
    retry_after = max(1, math.ceil(reset))
    what = 'the database' if problem_type == 'capacity-exceeded' else 'this API key'
    headers = {'Retry-After': str(retry_after)}
    if record is not None:
        headers.update(rate_limit_headers(record.rate_limits))
    return Problem(
        429,
        problem_type,
        f'No room for {request_class} in the capacity of {what} for {retry_after} s: nothing was sent.',
        headers=headers,
    )
