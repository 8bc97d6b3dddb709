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

from api.capacity.budget import Budget
from api.capacity.rate_limit_headers import rate_limit_headers
from api.capacity.request_classes import CLOUDANT_NAMES, classify
from api.capacity.shared_windows import Spend, State, Window
from api.config.capacity import CLASSES, PerClass
from api.errors import Problem
from api.upstream.connections import UpstreamRecord, current_record
from api.upstream.deadline import remaining


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
        self._waiting_lock = threading.Lock()
        self._waiting: dict[tuple[str, ...], int] = {}  # ids -> threads of this worker waiting for room

    def admit(self, method: str, url: str, body: bytes | str | None) -> str:
        """Spend this call's units or raise the 429 problem; returns its request class."""
        request_class, cost = classify(method, url, body)
        record = current_record()
        left = remaining(record)
        wait = self._max_wait if left is None else max(0.0, min(self._max_wait, left))
        started = time.monotonic()
        # The key's quota and the instance's capacity, spent together or not at all.
        spends: list[tuple[str, Spend]] = []
        quota = record.quota.of(request_class) if record is not None and record.quota else None
        if quota is not None:
            assert record is not None
            ids = ('quota', record.quota_key or '(anonymous)', request_class)
            spends.append((f'quota-{request_class}', Spend(Window(quota, self._budget.window), ids, cost)))
        window = self._windows.get(request_class)
        if window is not None:
            spends.append((request_class, Spend(window, ('capacity', request_class), cost, paced=True)))
        if spends:
            self._acquire(spends, started + wait, request_class, record)
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
        self, spends: list[tuple[str, Spend]], until: float, request_class: str, record: UpstreamRecord | None
    ) -> None:
        waiting_for: tuple[str, ...] | None = None
        unpaced = False
        try:
            while True:
                # Pacing may hold a call as long as it may wait; one that cannot wait goes unpaced.
                patience = 0.0 if unpaced else until - time.monotonic()
                states = self._budget.take([spend for _, spend in spends], self._workers, max(0.0, patience))
                self._note(record, spends, states)
                refusing = next((i for i, state in enumerate(states) if not state.fits), None)
                if refusing is None:
                    return
                spend = spends[refusing][1]
                reset = states[refusing].reset
                now = time.monotonic()
                if waiting_for != spend.ids:
                    self._stop_waiting(waiting_for)
                    waiting_for = None
                    if now + reset <= until and self._may_wait(spend.ids, spend.item.amount, until - now):
                        waiting_for = spend.ids
                if waiting_for is None or now + reset > until:
                    if states[refusing].paced:
                        unpaced = True  # only the pace held it, and it cannot wait: it goes now
                        continue
                    quota = spend.ids[0] == 'quota'
                    problem_type = 'quota-exceeded' if quota else 'capacity-exceeded'
                    key = (record.quota_label if record else None) or spend.ids[1] if quota else None
                    self._listener.capacity_refused(request_class, problem_type, key)
                    raise _refused(problem_type, request_class, reset, record)
                # A little jitter: the threads that waited for the same slot do not all ask at once.
                time.sleep(reset + random.uniform(0, 0.005))
        finally:
            self._stop_waiting(waiting_for)

    def _may_wait(self, ids: tuple[str, ...], amount: int, left: float) -> bool:
        # Wait only with a fair chance of room in time: no more waiters (this worker's share) than
        # the window admits in the time left. Threads held waiting in vain would starve the others.
        with self._waiting_lock:
            waiting = self._waiting.get(ids, 0)
            fair_share = max(1.0, amount * left / self._budget.window / self._workers)
            if waiting >= min(fair_share, self._max_waiting):
                return False
            self._waiting[ids] = waiting + 1
        return True

    def _stop_waiting(self, ids: tuple[str, ...] | None) -> None:
        if ids is not None:
            with self._waiting_lock:
                self._waiting[ids] -= 1

    def _note(
        self, record: UpstreamRecord | None, spends: list[tuple[str, Spend]], states: list[State]
    ) -> None:
        # What each window had after this attempt: the RateLimit headers, and the gauge of use.
        for (policy, spend), state in zip(spends, states, strict=True):
            if spend.ids[0] == 'capacity':
                self._listener.capacity_in_use(spend.ids[1], state.used)
            if record is not None:
                left = max(0, spend.item.amount - state.used)
                record.rate_limits[policy] = (spend.item.amount, left, max(1, math.ceil(state.reset)))


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
