"""Connection events, counted where they happen and credited to the API request that caused them.

urllib3's connection class reports every connect() (silent reconnects too), the pool class every
reuse, discard and request sent. Each event is credited to the record of the API request running
on the current thread, which the middleware marks with a context variable, and is told to a
listener (the metrics).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import queue
import time
from typing import Any, Protocol

from urllib3 import connection, connectionpool

from api.config.capacity import PerClass

log = logging.getLogger('couchgate.upstream')
_current: contextvars.ContextVar[UpstreamRecord | None] = contextvars.ContextVar(
    'couchgate_upstream_record', default=None
)


@dataclasses.dataclass
class UpstreamRecord:
    """The upstream activity one API request caused."""

    requests: int = 0
    new: int = 0
    reused: int = 0
    discarded: int = 0
    seconds: float = 0.0  # time upstream, body downloads included (api/upstream/deadline.py)
    started: float = dataclasses.field(default_factory=time.monotonic)
    deadline: float | None = None  # time.monotonic() by which upstream work must end; None: no limit
    # Set by the edge: whose quota the calls spend (api/capacity/guard.py); None: no quota.
    quota_key: str | None = None
    quota: PerClass | None = None
    # The quota's name on /metrics: a key's or an issuer's, never a user's (quota_key may be one).
    quota_label: str | None = None
    # What the capacity guard applied: policy -> (limit, remaining, seconds to reset), for headers.
    rate_limits: dict[str, tuple[int, int, int]] = dataclasses.field(default_factory=dict)

    @property
    def upstream_ms(self) -> float:
        return round(self.seconds * 1000, 1)

    def log_fields(self) -> dict:
        """The counts as the JSON log lines name them."""
        return {
            'upstream_requests': self.requests,
            'new_connections': self.new,
            'reused_connections': self.reused,
            'discarded_connections': self.discarded,
            'upstream_ms': self.upstream_ms,
        }


def start_recording(record: UpstreamRecord | None = None) -> tuple[UpstreamRecord, contextvars.Token]:
    """Credit the events of this thread's upstream calls to `record` (default: a fresh one)."""
    record = UpstreamRecord() if record is None else record
    return record, _current.set(record)


def stop_recording(token: contextvars.Token) -> None:
    _current.reset(token)


def current_record() -> UpstreamRecord | None:
    """The record this thread's upstream events are credited to, if any."""
    return _current.get()


class PoolListener:
    """Hears every event the session records, in any thread (e.g. metrics); this one ignores them."""

    def connection_event(self, event: str) -> None:
        """`requests`, `new`, `reused`, `discarded`, or `checkout`/`checkin` of a pooled connection."""

    def upstream_call(self, seconds: float) -> None:
        """One upstream call took `seconds` (its body included unless streamed)."""


NO_LISTENER = PoolListener()


def _record(event: str, conn: Any) -> None:
    # conn: one of the Counting*Connection classes below (urllib3 types it as a Protocol)
    record = _current.get()
    if record is not None:
        setattr(record, event, getattr(record, event) + 1)
    # The same events, not a second count: the listener hears exactly what requests are credited.
    getattr(conn, 'listener', NO_LISTENER).connection_event(event)
    if event != 'requests' and log.isEnabledFor(logging.DEBUG):
        log.debug(
            'upstream connection %s',
            event,
            extra={
                'fields': {
                    'event': event,
                    'upstream': f'{conn.host}:{conn.port}',
                    'local_port': getattr(conn, 'local_port', None),
                }
            },
        )


class _CountsConnects(connection.HTTPConnection):
    # Every connect() counts, also urllib3's silent reconnect of a dropped idle connection.
    local_port: int | None = None
    listener: PoolListener = NO_LISTENER

    def connect(self) -> None:
        super().connect()
        # Kept for the log: a discarded connection may already be closed when it is reported.
        self.local_port = self.sock.getsockname()[1]
        _record('new', self)


class CountingHTTPConnection(_CountsConnects):
    """An HTTP connection that reports each connect()."""


class CountingHTTPSConnection(_CountsConnects, connection.HTTPSConnection):
    """An HTTPS connection that reports each TCP + TLS connect()."""


class _DiscardCountingQueue(queue.LifoQueue):
    # urllib3 puts a connection back with block=False; Full means it is closed and discarded.
    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        try:
            super().put(item, block, timeout)
        except queue.Full:
            if item is not None:
                _record('discarded', item)
            raise


class Admission(Protocol):
    """What the pools ask before each attempt and tell after it (api/capacity/guard.py is one)."""

    upstream: tuple[str, int]  # (host, port) it admits calls to; calls elsewhere go unasked

    def admit(self, method: str, url: str, body: bytes | str | None) -> str: ...
    def answered(self, method: str, url: str, status: int, cloudant_class: str | None) -> None: ...


class _CountsUse(connectionpool.HTTPConnectionPool):
    QueueCls = _DiscardCountingQueue

    def __init__(
        self,
        *args: Any,
        listener: PoolListener = NO_LISTENER,
        guard: Admission | None = None,
        **kwargs: Any,
    ) -> None:
        self.listener = listener
        super().__init__(*args, **kwargs)
        self._guard = guard if guard is not None and guard.upstream == (self.host, self.port) else None

    def urlopen(self, method: str, url: str, body: Any = None, *args: Any, **kwargs: Any) -> Any:
        # urllib3 calls urlopen again for each retry: every attempt is admitted, before a connection
        # is taken from the pool (a call waiting for room holds none).
        if self._guard is not None:
            self._guard.admit(method, url, body)
        return super().urlopen(method, url, body, *args, **kwargs)

    def _new_conn(self) -> Any:
        conn: Any = super()._new_conn()
        conn.listener = self.listener
        return conn

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        # urllib3 puts back (with _put_conn) every connection it got, or None in its place.
        self.listener.connection_event('checkout')
        if not conn.is_closed:
            _record('reused', conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        self.listener.connection_event('checkin')
        super()._put_conn(conn)

    def _make_request(self, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        _record('requests', conn)
        response = super()._make_request(conn, method, url, *args, **kwargs)
        if self._guard is not None:  # each attempt's answer, also one that urllib3 retries
            cloudant_class = response.headers.get('X-Cloudant-Request-Class')
            self._guard.answered(method, url, response.status, cloudant_class)
        return response


class CountingHTTPConnectionPool(_CountsUse):
    """A connection pool that reports reuse and discards."""

    ConnectionCls = CountingHTTPConnection


class CountingHTTPSConnectionPool(_CountsUse, connectionpool.HTTPSConnectionPool):
    """A TLS connection pool that reports reuse and discards."""

    ConnectionCls = CountingHTTPSConnection
