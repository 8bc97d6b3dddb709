"""The capacity guard's metrics: admitted, waited, refused (by key too), upstream 429s, budget in use."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api.capacity.guard import CapacityListener

# A wait for room lasts up to CLOUDANT_QUEUE_MAX_WAIT: milliseconds to a few seconds.
WAIT_BUCKETS = (0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class CapacityMetrics(CapacityListener):
    """Prometheus series of the capacity guard, per request class (reads, writes, queries)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._capacity_admitted = Counter(
            'couchgate_capacity_admitted',
            'Upstream calls admitted by the capacity guard.',
            ['class'],
            registry=registry,
        )
        self._capacity_waited = Histogram(
            'couchgate_capacity_wait_seconds',
            'How long an admitted upstream call waited for room in its class (0: none).',
            ['class'],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self._capacity_refused = Counter(
            'couchgate_capacity_refused',
            'Calls refused with 429 and not sent: capacity-exceeded or quota-exceeded, by key.',
            ['class', 'type', 'key'],
            registry=registry,
        )
        self._capacity_throttled = Counter(
            'couchgate_upstream_throttled',
            'Upstream 429 answers, by the class couchgate counted the call in.',
            ['class'],
            registry=registry,
        )
        self._capacity_disagreed = Counter(
            'couchgate_request_class_disagreements',
            'Calls whose X-Cloudant-Request-Class is not the class couchgate counted them in.',
            ['ours', 'theirs'],
            registry=registry,
        )
        # Every worker sees the same shared count: the largest is the instance's.
        self._capacity_in_use = Gauge(
            'couchgate_capacity_in_use',
            'Units of the class spent in the last second, as last seen (shared: the whole instance).',
            ['class'],
            registry=registry,
            multiprocess_mode='livemax',
        )
        self._capacity_shared = Gauge(
            'couchgate_capacity_shared',
            '1: the budget is shared through Redis; 0: a worker counts its own share (no Redis, or away).',
            registry=registry,
            multiprocess_mode='livemin',
        )

    def capacity_admitted(self, request_class: str, waited: float) -> None:
        self._capacity_admitted.labels(request_class).inc()
        self._capacity_waited.labels(request_class).observe(waited)

    def capacity_refused(self, request_class: str, problem_type: str, key: str | None) -> None:
        self._capacity_refused.labels(request_class, problem_type, key or '(none)').inc()

    def capacity_in_use(self, request_class: str, used: int) -> None:
        self._capacity_in_use.labels(request_class).set(used)

    def capacity_shared(self, shared: bool) -> None:
        self._capacity_shared.set(1 if shared else 0)

    def upstream_throttled(self, request_class: str) -> None:
        self._capacity_throttled.labels(request_class).inc()

    def request_class_disagreed(self, ours: str, theirs: str) -> None:
        self._capacity_disagreed.labels(ours, theirs).inc()
