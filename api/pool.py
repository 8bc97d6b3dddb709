"""The pooled, instrumented, fork-safe HTTP session every upstream call goes through.

Connection events are counted where they happen (urllib3's connection and pool
classes) and credited to the API request running on the current thread, which
the middleware marks with a context variable.
"""
from __future__ import annotations

import contextvars
import dataclasses
import functools
import logging
import os
import queue
import threading
import time
import weakref
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter
from urllib3 import connection, connectionpool
from urllib3.util.retry import Retry

from api.retry import upstream_retry

log = logging.getLogger('couchgate.upstream')
_current: contextvars.ContextVar[ConnectionEvents | None] = contextvars.ContextVar(
    'couchgate_connection_events', default=None)
# Every adapter built in this process, for gunicorn's fork and exit hooks; weak, so it owns nothing.
_adapters: weakref.WeakSet[PooledAdapter] = weakref.WeakSet()


@dataclasses.dataclass
class ConnectionEvents:
    """The upstream activity one API request caused."""

    requests: int = 0
    new: int = 0
    reused: int = 0
    discarded: int = 0
    seconds: float = 0.0

    @property
    def upstream_ms(self) -> float:
        return round(self.seconds * 1000, 1)


def start_accounting(events: ConnectionEvents | None = None) -> tuple[ConnectionEvents, contextvars.Token]:
    """Credit the events of this thread's upstream calls to `events` (default: a fresh record)."""
    events = ConnectionEvents() if events is None else events
    return events, _current.set(events)


def stop_accounting(token: contextvars.Token) -> None:
    _current.reset(token)


def current_accounting() -> ConnectionEvents | None:
    """The record this thread's upstream events are credited to, if any."""
    return _current.get()


class PoolListener:
    """Hears every event the session records, in any thread (e.g. metrics); this one ignores them."""

    def connection_event(self, event: str) -> None:
        """`requests`, `new`, `reused`, `discarded`, or `checkout`/`checkin` of a pooled connection."""

    def upstream_call(self, seconds: float) -> None:
        """One upstream call took `seconds` (its body included unless streamed)."""


_IGNORED = PoolListener()


def _record(event: str, conn) -> None:
    events = _current.get()
    if events is not None:
        setattr(events, event, getattr(events, event) + 1)
    # The same events, not a second count: the listener hears exactly what requests are credited.
    getattr(conn, 'listener', _IGNORED).connection_event(event)
    if event != 'requests' and log.isEnabledFor(logging.DEBUG):
        log.debug('upstream connection %s', event, extra={'fields': {
            'event': event,
            'upstream': f'{conn.host}:{conn.port}',
            'local_port': getattr(conn, 'local_port', None),
        }})


class _CountsConnects:
    # Every connect() counts, also urllib3's silent reconnect of a dropped idle connection.
    local_port = None

    def connect(self) -> None:
        super().connect()
        # Kept for the log: a discarded connection may already be closed when it is reported.
        self.local_port = self.sock.getsockname()[1]
        _record('new', self)


class CountingHTTPConnection(_CountsConnects, connection.HTTPConnection):
    """An HTTP connection that reports each connect()."""


class CountingHTTPSConnection(_CountsConnects, connection.HTTPSConnection):
    """An HTTPS connection that reports each TCP + TLS connect()."""


class _DiscardCountingQueue(queue.LifoQueue):
    # urllib3 puts a connection back with block=False; Full means it is closed and discarded.
    def put(self, item, block=True, timeout=None) -> None:
        try:
            super().put(item, block, timeout)
        except queue.Full:
            if item is not None:
                _record('discarded', item)
            raise


class _CountsUse:
    QueueCls = _DiscardCountingQueue

    def __init__(self, *args, listener: PoolListener = _IGNORED, **kwargs) -> None:
        self.listener = listener
        super().__init__(*args, **kwargs)

    def _new_conn(self):
        conn = super()._new_conn()
        conn.listener = self.listener
        return conn

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        # urllib3 puts back (with _put_conn) every connection it got, or None in its place.
        self.listener.connection_event('checkout')
        if not conn.is_closed:
            _record('reused', conn)
        return conn

    def _put_conn(self, conn) -> None:
        self.listener.connection_event('checkin')
        super()._put_conn(conn)

    def _make_request(self, conn, *args, **kwargs):
        _record('requests', conn)
        return super()._make_request(conn, *args, **kwargs)


class CountingHTTPConnectionPool(_CountsUse, connectionpool.HTTPConnectionPool):
    """A connection pool that reports reuse and discards."""

    ConnectionCls = CountingHTTPConnection


class CountingHTTPSConnectionPool(_CountsUse, connectionpool.HTTPSConnectionPool):
    """A TLS connection pool that reports reuse and discards."""

    ConnectionCls = CountingHTTPSConnection


class PooledAdapter(HTTPAdapter):
    """A requests adapter with counting pools, its own CA bundle, and fresh pools after fork()."""

    def __init__(self, *, pool_maxsize: int, ca_bundle: str | None = None,
                 max_retries: Retry | int = 0, listener: PoolListener = _IGNORED) -> None:
        self._listener = listener
        # The adapter owns TLS trust: REQUESTS_CA_BUNDLE or session settings cannot override it.
        self._verify = ca_bundle or True
        self._pid = os.getpid()
        self._fork_lock = threading.Lock()
        self._inherited = []
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, pool_block=False,
                         max_retries=max_retries)
        _adapters.add(self)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        # urllib3 only calls these to make a pool: a partial hands each new pool the listener.
        self.poolmanager.pool_classes_by_scheme = {
            'http': functools.partial(CountingHTTPConnectionPool, listener=self._listener),
            'https': functools.partial(CountingHTTPSConnectionPool, listener=self._listener)}

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        if self._pid != os.getpid():
            self.forget_inherited_connections()
        return super().send(request, stream=stream, timeout=timeout, verify=self._verify,
                            cert=cert, proxies=proxies)

    def forget_inherited_connections(self) -> int:
        """Start with empty pools in a forked child; returns how many open connections it left behind."""
        with self._fork_lock:
            if self._pid == os.getpid():
                return 0
            # Sockets opened before fork() are shared with the parent: never use nor close them
            # here (closing could end the parent's TLS session), just keep them out of reach.
            inherited = self.poolmanager
            self._inherited.append(inherited)
            self.init_poolmanager(self._pool_connections, self._pool_maxsize, block=self._pool_block)
            self._pid = os.getpid()
            return _idle_connections(inherited)

    def close(self) -> int:
        """Close the pooled connections of this process (never a parent's); returns how many were idle."""
        self.forget_inherited_connections()
        idle = _idle_connections(self.poolmanager)
        super().close()
        return idle


def _idle_connections(manager) -> int:
    # urllib3 fills a pool's queue with None placeholders; the rest are open, idle connections.
    pools = [manager.pools[key] for key in manager.pools.keys()]
    return sum(1 for pool in pools if pool.pool for conn in list(pool.pool.queue)
               if conn is not None and not conn.is_closed)


def reset_after_fork() -> tuple[int, int]:
    """gunicorn's post_fork: fresh pools for every adapter; returns (adapters, connections left behind)."""
    adapters = list(_adapters)
    return len(adapters), sum(adapter.forget_inherited_connections() for adapter in adapters)


def close_all() -> tuple[int, int]:
    """gunicorn's worker_exit: close every adapter; returns (adapters, idle connections closed)."""
    adapters = list(_adapters)
    return len(adapters), sum(adapter.close() for adapter in adapters)


class InstrumentedSession(requests.Session):
    """A requests session that times each upstream call, body included."""

    listener: PoolListener = _IGNORED

    def send(self, request, **kwargs):
        started = time.perf_counter()
        try:
            return super().send(request, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            events = _current.get()
            if events is not None:
                events.seconds += seconds
            self.listener.upstream_call(seconds)


def build_session(*, pool_maxsize: int, ca_bundle: str | None = None,
                  retries: Retry | None = None,
                  listener: PoolListener = _IGNORED) -> InstrumentedSession:
    """One session per worker process: every upstream request of the worker goes through it."""
    session = InstrumentedSession()
    # Only the CLOUDANT_* settings decide where and how we connect, not proxy or CA variables.
    session.trust_env = False
    # Threads share this session: nothing may change it while they run, so the server's cookies
    # are never stored in it (the cookie authenticator carries its own, per request).
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=()))
    session.listener = listener
    adapter = PooledAdapter(pool_maxsize=pool_maxsize, ca_bundle=ca_bundle,
                            max_retries=retries if retries is not None else upstream_retry(),
                            listener=listener)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session
