"""Which upstream requests may be sent again, and how long to wait before doing so."""

from __future__ import annotations

import random
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from api.upstream.deadline import DeadlinePassed, remaining

READS = frozenset({'GET', 'HEAD'})
# A CouchDB PUT or DELETE that names the revision it replaces cannot apply twice: a repeat conflicts.
GUARDED_WRITES = frozenset({'PUT', 'DELETE'})
THROTTLED = frozenset({429, 503})


class UpstreamRetry(Retry):
    """urllib3's Retry narrowed to what is safe to repeat against CouchDB, with capped waits.

    - connect errors (not a byte was sent): any method;
    - a connection dropped or reset after sending (the server may have acted): reads only;
    - read timeouts: never (the client gets a 504 now rather than twice the wait);
    - 429 and 503: reads and revision-guarded writes (PUT/DELETE with `rev=`), never a POST nor a
      PUT that creates; a Retry-After above `max_wait`, or past the request's deadline, is not
      waited for: the answer goes back;
    - no other wait that would end past the request's deadline (api/upstream/deadline.py).
    The adapter sees only the request line, so the rule reads the method and the `rev` query.
    """

    RETRY_AFTER_STATUS_CODES = THROTTLED

    def __init__(self, *args: Any, max_wait: float = 2.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait

    def new(self, **kw: Any) -> UpstreamRetry:
        kw.setdefault('max_wait', self.max_wait)
        return super().new(**kw)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> UpstreamRetry:
        if (
            error is not None
            and not self._is_connection_error(error)
            and (isinstance(error, ReadTimeoutError) or method not in READS)
        ):
            raise error.with_traceback(_stacktrace)
        if response is not None:
            wait = self.get_retry_after(response)
            left = remaining()
            too_long = wait is not None and (wait > self.max_wait or (left is not None and wait >= left))
            if not may_repeat(method, url) or too_long:
                # With raise_on_status off, urllib3 hands this response back to the caller.
                raise MaxRetryError(_pool, url, ResponseError(f'{response.status} not repeated'))  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None  # unreadable: treated as absent, the backoff applies

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        # No retry that cannot finish before the request's deadline: fail now, not after the wait.
        left = remaining()
        if left is not None:
            wait = (
                self.get_retry_after(response) if response is not None else None
            ) or self.get_backoff_time()
            if wait >= left:
                raise DeadlinePassed('no time left before the deadline for a retry')
        super().sleep(response)

    def get_backoff_time(self) -> float:
        # Unlike urllib3's, the first retry waits too, and always with jitter ("equal jitter": half
        # fixed, half random, capped), so that threads that failed together do not return in lockstep.
        if not self.history:
            return 0.0
        ceiling = min(self.backoff_max, self.backoff_factor * 2 ** (len(self.history) - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def may_repeat(method: str | None, url: str | None) -> bool:
    """Whether sending this request twice has the effect of sending it once (or a conflict)."""
    if method in READS:
        return True
    return method in GUARDED_WRITES and 'rev' in parse_qs(urlsplit(url or '').query)


def upstream_retry(max_retries: int = 2, max_wait: float = 2.0) -> UpstreamRetry:
    """The policy of couchgate's session: at most `max_retries` repeats, waits of at most `max_wait` s."""
    return UpstreamRetry(
        total=max_retries,
        connect=None,
        read=None,
        status=None,
        other=0,
        redirect=0,
        allowed_methods=READS | GUARDED_WRITES,
        status_forcelist=THROTTLED,
        backoff_factor=0.2,
        backoff_max=max_wait,
        raise_on_status=False,
        max_wait=max_wait,
    )
