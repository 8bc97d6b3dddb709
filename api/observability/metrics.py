"""Prometheus metrics: API requests, and the pool's events as api/upstream/session.py records them.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn's master prepares it, see api/observability/multiprocess.py),
prometheus_client keeps every value in a file per worker and /metrics adds up all workers.
"""

from __future__ import annotations

import os
import time

import falcon
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from api.config import Settings
from api.observability.capacity_metrics import CapacityMetrics
from api.upstream.connections import PoolListener

# Upstream calls take milliseconds to seconds; Prometheus' defaults start at 5 ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0)
_CONNECTION_EVENTS = ('new', 'reused', 'discarded')
NO_KEY = '(none)'  # the key label of requests without a valid key: no key name has parentheses
_METHODS = frozenset(falcon.COMBINED_METHODS)


class Metrics(PoolListener, CapacityMetrics):
    """The metrics of one worker; the session and the capacity guard report here as things happen."""

    def __init__(self, settings: Settings) -> None:
        self._multiprocess_dir = settings.metrics_dir
        # In multiprocess mode the values live in files; registering them too would count twice.
        own = None if self._multiprocess_dir else CollectorRegistry()
        self.requests = Counter(
            'couchgate_http_requests',
            'API requests answered, by route template, method, status and API key name.',
            ['route', 'method', 'status', 'key'],
            registry=own,
        )
        self.request_seconds = Histogram(
            'couchgate_http_request_duration_seconds',
            'Time to answer an API request (for /export: until the body starts to stream).',
            ['route', 'method', 'status'],
            buckets=BUCKETS,
            registry=own,
        )
        self.upstream_requests = Counter(
            'couchgate_upstream_requests', 'Requests sent upstream, retries included.', registry=own
        )
        connections = Counter(
            'couchgate_upstream_connections',
            'Upstream connection events: new (TCP+TLS connect), reused (pooled), discarded (pool full).',
            ['event'],
            registry=own,
        )
        self._connections = {event: connections.labels(event) for event in _CONNECTION_EVENTS}
        self.upstream_seconds = Histogram(
            'couchgate_upstream_request_duration_seconds',
            'Time of one upstream call, body included unless streamed.',
            buckets=BUCKETS,
            registry=own,
        )
        # Gauges are per worker (a pid label); dead workers' values go (gunicorn's child_exit hook).
        self.pool_size = Gauge(
            'couchgate_pool_max_connections',
            'Upstream connections each worker keeps pooled.',
            registry=own,
            multiprocess_mode='liveall',
        )
        self.in_use = Gauge(
            'couchgate_pool_connections_in_use',
            'Upstream connections checked out of the pool now.',
            registry=own,
            multiprocess_mode='liveall',
        )
        # By issuer name (AUTH_ISSUERS), a closed set: never a token, a claim or a user.
        self.key_set_fetches = Counter(
            'couchgate_jwks_fetches',
            "Fetches of an issuer's key set (JWKS) by this worker's background thread, by outcome.",
            ['issuer', 'outcome'],
            registry=own,
        )
        CapacityMetrics.__init__(self, own)
        self._pool_maxsize = settings.pool_maxsize
        self.start_in_worker()
        self._registry = own or self._multiprocess_registry()

    def _multiprocess_registry(self) -> CollectorRegistry:
        assert self._multiprocess_dir is not None
        os.makedirs(self._multiprocess_dir, exist_ok=True)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._multiprocess_dir)
        return registry

    def start_in_worker(self) -> None:
        """Set this process's gauges; again in a worker forked from a preloaded master (its files)."""
        self.pool_size.set(self._pool_maxsize)
        self.in_use.set(0)

    def render(self) -> bytes:
        """The Prometheus text format: every worker's values, added up, gauges per worker."""
        return generate_latest(self._registry)

    content_type = CONTENT_TYPE_LATEST

    def connection_event(self, event: str) -> None:
        if event == 'requests':
            self.upstream_requests.inc()
        elif event == 'checkout':
            self.in_use.inc()
        elif event == 'checkin':
            self.in_use.dec()
        else:
            self._connections[event].inc()

    def upstream_call(self, seconds: float) -> None:
        self.upstream_seconds.observe(seconds)

    def key_set_fetched(self, issuer: str, ok: bool) -> None:
        self.key_set_fetches.labels(issuer, 'ok' if ok else 'failed').inc()


class RequestMetrics:
    """Counts and times every API request by route template (never the raw path), method, status."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        # The children of each label set, looked up once: labels() validates and locks on every call.
        self._children: dict[tuple[str, str, int, str], tuple] = {}

    def process_response(self, req, resp, resource, req_succeeded):
        started = req.context.started  # api/edge/context.py: when the request was built
        # Labels from a closed set only: a client cannot create new series (nor grow this cache).
        # Key names come from API_KEYS, a closed set too; never the key itself.
        method = req.method if req.method in _METHODS else 'OTHER'
        key = (req.uri_template or '(unmatched)', method, resp.status_code, req.context.key_name or NO_KEY)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = self._label(*key)
        counter, histogram = children
        counter.inc()
        histogram.observe(time.perf_counter() - started)

    def _label(self, route: str, method: str, status: int, key_name: str) -> tuple:
        labels = (route, method, str(status))
        return self._metrics.requests.labels(*labels, key_name), self._metrics.request_seconds.labels(*labels)
