"""The pooled, instrumented, fork-safe HTTP session every upstream call goes through."""

from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from collections.abc import Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests import PreparedRequest, Response
from urllib3 import PoolManager
from urllib3.util.retry import Retry

from api.upstream.connections import (
    NO_LISTENER,
    Admission,
    CountingHTTPConnectionPool,
    CountingHTTPSConnectionPool,
    PoolListener,
    current_record,
)
from api.upstream.deadline import DeadlinePassed, remaining
from api.upstream.preparation import LeanSession
from api.upstream.retry import upstream_retry
from api.upstream.trust import FixedTrustAdapter

# Every adapter built in this process, for gunicorn's fork and exit hooks; weak, so it owns nothing.
_adapters: weakref.WeakSet[PooledAdapter] = weakref.WeakSet()


class PooledAdapter(FixedTrustAdapter):
    """A requests adapter with counting pools, its own CA bundle, and fresh pools after fork()."""

    def __init__(
        self,
        *,
        pool_maxsize: int,
        ca_bundle: str | None = None,
        max_retries: Retry | int = 0,
        listener: PoolListener = NO_LISTENER,
        guard: Admission | None = None,
    ) -> None:
        self._listener = listener
        self._guard = guard
        # The adapter owns TLS trust: REQUESTS_CA_BUNDLE or session settings cannot override it.
        self._verify = ca_bundle or True
        self._pid = os.getpid()
        self._fork_lock = threading.Lock()
        self._inherited: list[PoolManager] = []
        self._sizes = (4, pool_maxsize)  # (pools, connections per pool), for fresh pools after fork
        super().__init__(
            pool_connections=self._sizes[0],
            pool_maxsize=pool_maxsize,
            pool_block=False,
            max_retries=max_retries,
        )
        _adapters.add(self)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        # urllib3 only calls these to make a pool: a partial hands each new pool the listener.
        self.poolmanager.pool_classes_by_scheme = {
            'http': functools.partial(CountingHTTPConnectionPool, listener=self._listener, guard=self._guard),
            'https': functools.partial(
                CountingHTTPSConnectionPool, listener=self._listener, guard=self._guard
            ),
        }

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        if self._pid != os.getpid():
            self.forget_inherited_connections()
        return super().send(
            request, stream=stream, timeout=timeout, verify=self._verify, cert=cert, proxies=proxies
        )

    def forget_inherited_connections(self) -> int:
        """Start with empty pools in a forked child; returns how many open connections it left behind."""
        with self._fork_lock:
            if self._pid == os.getpid():
                return 0
            # Sockets opened before fork() are shared with the parent: never use nor close them
            # here (closing could end the parent's TLS session), just keep them out of reach.
            inherited = self.poolmanager
            self._inherited.append(inherited)
            self.init_poolmanager(*self._sizes)
            self._pid = os.getpid()
            return _idle_connections(inherited)

    def close_pools(self) -> int:
        """Close the pooled connections of this process (never a parent's); returns how many were idle."""
        self.forget_inherited_connections()
        idle = _idle_connections(self.poolmanager)
        super().close()
        return idle


def _idle_connections(manager: PoolManager) -> int:
    # urllib3 fills a pool's queue with None placeholders; the rest are open, idle connections.
    # keys(), not iteration: urllib3's RecentlyUsedContainer refuses to be iterated.
    pools = [manager.pools[key] for key in manager.pools.keys()]  # noqa: SIM118
    return sum(
        1
        for pool in pools
        if pool.pool
        for conn in list(pool.pool.queue)
        if conn is not None and not conn.is_closed
    )


def reset_after_fork() -> tuple[int, int]:
    """gunicorn's post_fork: fresh pools for every adapter; returns (adapters, connections left behind)."""
    adapters = list(_adapters)
    return len(adapters), sum(adapter.forget_inherited_connections() for adapter in adapters)


def close_all() -> tuple[int, int]:
    """gunicorn's worker_exit: close every adapter; returns (adapters, idle connections closed)."""
    adapters = list(_adapters)
    return len(adapters), sum(adapter.close_pools() for adapter in adapters)


class InstrumentedSession(LeanSession):
    """A requests session that times each upstream call, body included."""

    listener: PoolListener = NO_LISTENER
    deadline_seconds: float | None = None  # per API request, from its start: every call within it

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        started = time.perf_counter()
        record = current_record()
        if record is not None and record.deadline is None and self.deadline_seconds:
            record.deadline = record.started + self.deadline_seconds  # writes and logins too
        left = remaining(record)
        try:
            if left is not None:
                if left <= 0:
                    raise DeadlinePassed('the request deadline passed before the call')
                kwargs['timeout'] = _within(kwargs.get('timeout'), left)
            return super().send(request, **kwargs)
        except requests.exceptions.RequestException as e:
            # A retry refused for lack of time arrives wrapped; any failure past the deadline is its.
            if isinstance(e.args[0] if e.args else None, DeadlinePassed) or (
                left is not None and (remaining() or 0) <= 0
            ):
                raise DeadlinePassed(str(e)) from None
            raise
        finally:
            seconds = time.perf_counter() - started
            record = current_record()
            if record is not None:
                record.seconds += seconds
            self.listener.upstream_call(seconds)


def _within(timeout: Any, left: float) -> tuple[float, float]:
    """(connect, read) timeouts that end by the deadline."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return (min(connect or left, left), min(read or left, left))


def build_session(
    *,
    pool_maxsize: int,
    ca_bundle: str | None = None,
    retries: Retry | None = None,
    listener: PoolListener = NO_LISTENER,
    deadline_seconds: float | None = None,
    guard: Admission | None = None,
) -> InstrumentedSession:
    """One session per worker process: every upstream request of the worker goes through it."""
    session = InstrumentedSession()
    # Only the CLOUDANT_* settings decide where and how we connect, not proxy or CA variables.
    session.trust_env = False
    # Threads share this session: nothing may change it while they run, so the server's cookies
    # are never stored in it (the cookie authenticator carries its own, per request).
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=()))
    # gzip, as requests asks without the optional brotli package (production does not install it):
    # what the upstream is asked for, and spends compressing, does not depend on what is importable.
    session.headers['Accept-Encoding'] = 'gzip, deflate'
    session.listener = listener
    session.deadline_seconds = deadline_seconds
    adapter = PooledAdapter(
        pool_maxsize=pool_maxsize,
        ca_bundle=ca_bundle,
        max_retries=retries if retries is not None else upstream_retry(),
        listener=listener,
        guard=guard,
    )
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session
