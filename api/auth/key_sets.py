"""Each issuer's key set (JWKS) per worker, fetched by its own thread outside any lock requests wait on."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from jwt import PyJWK

from api.auth.jwks import KeyFetch, discover, parse_key_set
from api.config.issuers import Issuer

log = logging.getLogger('couchgate.auth')

FETCH_WAIT = 3.0  # the longest a request waits for a fetch (a fetch's own cap is the same)
REFETCH_COOLDOWN = 30.0  # an unknown `kid` refetches at most this often per issuer
KEEP_LAST_GOOD = 24 * 3600.0  # a key set stays in use this long after its last good fetch
RETRY_AFTER_FAILURE = 30.0


def refresh_after(max_age: float | None) -> float:
    """Seconds until the next refresh: before the Cache-Control max-age (within [5 min, 24 h], else
    1 h) runs out, so that requests never wait for it."""
    lifetime = 3600.0 if max_age is None else min(max(max_age, 300.0), 86400.0)
    return lifetime * 0.9


class KeySetListener(Protocol):
    """Hears each fetch of a key set (the metrics): the issuer's name, never a token or a user."""

    def key_set_fetched(self, issuer: str, ok: bool) -> None: ...


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    keys: dict[str, PyJWK]
    fetched: float  # time.monotonic() of the fetch that got them


class IssuerKeys:
    """One issuer's keys in one worker; `key()` is what request threads call."""

    def __init__(
        self, issuer: Issuer, fetch: KeyFetch, listener: KeySetListener, clock: Callable[[], float]
    ) -> None:
        self._issuer = issuer
        self._fetch = fetch
        self._listener = listener
        self._clock = clock
        self._snapshot: _Snapshot | None = None  # replaced whole, read without a lock
        self._jwks_uri = issuer.jwks_uri
        # Held only to read or publish a few fields, never during a fetch.
        self._changed = threading.Condition()
        self._done = 0  # fetches finished, either way
        self._wanted = False  # a fetch was asked for and has not finished yet
        self._last_demand: dict[str, float] = {}  # when a request last asked for a fetch, by kind
        self._last_error: str | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def key(self, kid: str | None) -> PyJWK | None:
        """The key `kid` names, refetching the set at most once per cooldown if it is unknown."""
        found = self._lookup(kid)
        if found is not None:
            return found
        with self._changed:
            if not self._wanted:
                # Refetches for unknown kids, and first fetches that failed, each wait out their own
                # cooldown: a first key set does not hold back the refetch that a rotation needs.
                which = 'refetch' if self._snapshot is not None else 'first'
                now = self._clock()
                last = self._last_demand.get(which)
                if last is not None and now - last < REFETCH_COOLDOWN:
                    return None
                self._last_demand[which] = now
                self._ask()
            # The fetch asked for (by this request or another) is the next to finish.
            target = self._done + 1
            # Waiting releases the condition's lock: other requests go on with the keys they have.
            self._changed.wait_for(lambda: self._done >= target, timeout=FETCH_WAIT)
        return self._lookup(kid)

    def reachability(self, wait: float) -> str:
        """'reachable', 'unreachable' (its keys, if any, still in use) or 'not yet fetched'."""
        with self._changed:
            if self._done == 0:
                if not self._wanted:
                    self._ask()
                self._changed.wait_for(lambda: self._done > 0, timeout=wait)
            if self._done == 0:
                return 'not yet fetched'
            return 'unreachable' if self._last_error else 'reachable'

    def _ask(self) -> None:
        # Called with the condition held: only flags and a wake-up, the fetch runs on its own thread.
        self._wanted = True
        self._start()
        self._wake.set()

    def _lookup(self, kid: str | None) -> PyJWK | None:
        snapshot = self._snapshot
        if snapshot is None or self._clock() - snapshot.fetched > KEEP_LAST_GOOD:
            return None
        if kid is None:
            # A token without `kid` fits only a set of one key.
            return next(iter(snapshot.keys.values())) if len(snapshot.keys) == 1 else None
        return snapshot.keys.get(kid)

    def _start(self) -> None:
        # Lazily, in the worker that uses it: a thread of the master does not survive fork().
        if self._thread is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name=f'jwks-{self._issuer.name}', daemon=True)
            self._thread.start()

    def _run(self) -> None:
        next_in: float | None = None  # the first fetch waits to be asked for
        while True:
            self._wake.wait(timeout=next_in)
            self._wake.clear()
            next_in = self._refresh()

    def _refresh(self) -> float:
        """Fetch once, publish the outcome, and say when to refresh next (seconds)."""
        try:
            if self._jwks_uri is None:
                self._jwks_uri = discover(self._fetch, self._issuer)  # read once per worker
            document, max_age = self._fetch.get_json(self._jwks_uri)
            keys = parse_key_set(document)
        except Exception as error:  # any failure keeps the last good set
            reason = str(error) or type(error).__name__
            log.warning(
                'jwks fetch failed', extra={'fields': {'issuer': self._issuer.name, 'reason': reason}}
            )
            self._listener.key_set_fetched(self._issuer.name, ok=False)
            self._publish(None, reason)
            return RETRY_AFTER_FAILURE
        self._listener.key_set_fetched(self._issuer.name, ok=True)
        self._publish(_Snapshot(keys, self._clock()), None)
        return refresh_after(max_age)

    def _publish(self, snapshot: _Snapshot | None, error: str | None) -> None:
        with self._changed:
            if snapshot is not None:
                self._snapshot = snapshot
            self._last_error = error
            self._done += 1
            self._wanted = False
            self._changed.notify_all()


class KeySets:
    """Every configured issuer's keys in this worker (the verifier's KeySource)."""

    def __init__(
        self,
        issuers: tuple[Issuer, ...],
        fetch: KeyFetch,
        listener: KeySetListener,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # No I/O here: nothing is fetched until a token (or /readyz) needs it.
        self._by_issuer = {issuer.issuer: IssuerKeys(issuer, fetch, listener, clock) for issuer in issuers}
        self._names = {issuer.issuer: issuer.name for issuer in issuers}

    def key(self, issuer: Issuer, kid: str | None) -> PyJWK | None:
        return self._by_issuer[issuer.issuer].key(kid)

    def reachability(self, wait: float = FETCH_WAIT) -> dict[str, str]:
        """Each issuer's name and whether its keys could be fetched; waits at most `wait` in all."""
        deadline = time.monotonic() + wait
        return {
            self._names[url]: keys.reachability(max(0.0, deadline - time.monotonic()))
            for url, keys in self._by_issuer.items()
        }
