"""One client's subscription: its part of a database's changes, and the bytes it has yet to be sent.

A subscription is registered with its worker's feed before it catches up (from `since` to the
database's present, its prefix filtered upstream): the feed's changes meanwhile are held, and those
the catch-up did not already give are released once it ends. So nothing falls between the two.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator

from api.changes import events
from api.upstream.couch import Change, Changes

UNSENT_LIMIT = 1024 * 1024  # bytes a stream may have waiting for a slow reader before it is reset
HELD_LIMIT = 10_000  # feed changes held while one client catches up; beyond, it resumes from its seq
SEEN_LIMIT = 10_000  # ids of the catch-up remembered, to drop the feed's copies of them at the seam
Reader = Callable[[str], Changes]  # a page of this subscription's changes after a seq
PageWriter = Callable[[list[Change], str], bytes]  # a long poll's answer: changes, and the seq after them


class Subscription:
    """An SSE stream (`poll_limit` None) or one long poll's answer, for one client."""

    live = True  # a body that keeps coming after the request: never compressed, never tagged

    def __init__(
        self,
        db: str,
        prefix: str | None,
        include_docs: bool,
        position: str,
        *,
        reader: Reader | None,
        on_close: Callable[[Subscription], None],
        heartbeat: float,
        poll_limit: int | None = None,
        wait: float = 0.0,
        poll_page: PageWriter | None = None,
        doorbell: bool = False,
        resume_at: Callable[[], str | None] | None = None,
    ) -> None:
        """`poll_page` writes a long poll's answer (default: the API's page). A `doorbell` long poll
        ends at the first change with an empty page from where it stood: its client reads the change
        itself (a replicator needs every leaf revision, which the feed does not carry). Its wait, when
        over, answers from `resume_at()`, where the feed has offered every change up to: a client
        that comes back from there needs no read of its own (`current`, set by the feed)."""
        self.db, self.prefix, self.include_docs = db, prefix, include_docs
        self.position = position  # the last seq queued for the client: where it would resume
        self.heartbeat = heartbeat if poll_limit is None else None
        self.deadline = time.monotonic() + wait if poll_limit is not None else None
        self._reader = reader  # None: nothing to catch up (since=now, or read already)
        self._first: Changes | None = None
        self._on_close = on_close
        self._poll_limit = poll_limit
        self._poll_page = poll_page or self._api_page
        self._doorbell = doorbell
        self._resume_at = resume_at
        self.current = False  # registered at the feed's very position: nothing to read to catch up
        self._lock = threading.Lock()
        self._unsent = bytearray()
        self._ended = False
        self._closed = False
        self._wake: Callable[[], None] | None = None
        self._held: list[Change] | None = []  # None once caught up
        self._seen: collections.OrderedDict[str, str] = collections.OrderedDict()  # id -> rev

    # --- in the request's thread -------------------------------------------------------------

    def prefetch(self) -> None:
        """Read the catch-up's first page now, while a failure can still be the request's problem."""
        if self._reader is not None:
            self._first = self._reader(self.position)

    def catch_up(self) -> Iterator[bytes]:
        """SSE events from `since` to the present, page by page, then the held changes that are new."""
        since = self.position
        while self._reader is not None:
            page, self._first = self._first or self._reader(since), None
            for change in page.results:
                self._seen[change.id] = change.rev
                self._seen.move_to_end(change.id)
                if len(self._seen) > SEEN_LIMIT:
                    self._seen.popitem(last=False)
            self.position = since = page.last_seq
            if page.results:
                yield b''.join(events.event(c, self.include_docs) for c in page.results)
            if not page.more:
                break
        if self._held is not None:
            self.caught_up(self.position)

    def caught_up(self, position: str) -> None:
        """The client has everything up to `position`: the feed's changes go to it from now on."""
        with self._lock:
            held, self._held = self._held or [], None
            self.position = position
            overflow = len(held) > HELD_LIMIT
        if overflow:
            self._end(events.reset(position, 'behind'))
        else:
            self.offer([c for c in held if self._new(c, position)])
        self._seen.clear()

    # --- in the feed's thread ------------------------------------------------------------------

    def offer(self, changes: list[Change]) -> None:
        """Changes of this subscription's part of the database, in the feed's order."""
        if not changes:
            return
        with self._lock:
            if self._ended:
                return
            if self._held is not None:
                self._held.extend(changes)
                return
            if self._doorbell:
                self._finish(self._poll_page([], self.position), self.position)
            elif self._poll_limit is not None:
                chosen = changes[: self._poll_limit]
                self._finish(self._poll_page(chosen, chosen[-1].seq), chosen[-1].seq)
            else:
                for change in changes:
                    data = events.event(change, self.include_docs)
                    if len(self._unsent) + len(data) > UNSENT_LIMIT:
                        self._finish(events.reset(self.position, 'slow-reader'), self.position)
                        break
                    self._unsent += data
                    self.position = change.seq
        self._ring()

    # --- in the thread that writes the socket ---------------------------------------------------

    def take(self, most: int) -> tuple[bytes, bool]:
        """Up to `most` bytes to send, and whether the answer ends with them."""
        with self._lock:
            data = bytes(self._unsent[:most])
            del self._unsent[:most]
            return data, self._ended and not self._unsent

    def expire(self) -> None:
        """A long poll's wait is over with nothing new: an empty page from where it stood (a
        doorbell's: from where the feed stands, when that is not behind)."""
        delivered = self._resume_at() if self._resume_at is not None else None
        with self._lock:
            if not self._ended and delivered is not None:
                self.position = _later(self.position, delivered)
        self._end(self._poll_page([], self.position))

    def shut_down(self) -> None:
        """The worker is stopping: the last bytes say where to resume."""
        if self._poll_limit is None:
            self._end(events.reset(self.position, 'shutdown'))
        else:
            self.expire()

    def on_ready(self, wake: Callable[[], None]) -> None:
        """Call `wake` (from any thread) whenever bytes wait to be taken."""
        self._wake = wake
        self._ring()

    def close(self) -> None:
        """The client is gone or the answer ended: leave the feed (once)."""
        with self._lock:
            if self._closed:
                return
            self._closed = self._ended = True
        self._on_close(self)

    # --- without a worker that takes the socket (any WSGI server, Falcon's test client) ----------

    def __iter__(self) -> Iterator[bytes]:
        ready = threading.Event()
        try:
            yield from self.catch_up()
            self.on_ready(ready.set)
            while True:
                now = time.monotonic()
                timeout = (self.deadline - now) if self.deadline is not None else self.heartbeat
                if not ready.wait(max(0.0, timeout or 0.0)):
                    if self.deadline is not None:
                        self.expire()
                    else:
                        yield events.HEARTBEAT
                ready.clear()
                data, done = self.take(UNSENT_LIMIT)
                if data:
                    yield data
                if done:
                    return
        finally:
            self.close()

    def _api_page(self, changes: list[Change], last_seq: str) -> bytes:
        return events.page([events.item(c, self.include_docs, seq=True) for c in changes], last_seq)

    def _end(self, body: bytes) -> None:
        with self._lock:
            if self._ended:
                return
            self._finish(body, self.position)
        self._ring()

    def _finish(self, body: bytes, position: str) -> None:
        # Under the lock: the last bytes, past any limit (they say where to resume).
        self._unsent += body
        self.position = position
        self._ended = True

    def _ring(self) -> None:
        wake = self._wake
        if wake is not None and (self._unsent or self._ended):
            wake()

    def _new(self, change: Change, position: str) -> bool:
        """Whether a change the feed brought during the catch-up is one the catch-up did not give."""
        if change.seq.isdigit() and position.isdigit():  # pouchdb's seqs are numbers, in order
            return int(change.seq) > int(position)
        # CouchDB's are opaque: a change is new unless the catch-up gave this revision or a later one.
        seen = self._seen.get(change.id)
        return seen is None or _generation(change.rev) > _generation(seen)


def _later(position: str, delivered: str) -> str:
    """The feed's position unless it is behind (known of pouchdb's numbers; CouchDB's are opaque, and
    a position the feed reached has every change after the client's own on its way to it)."""
    if position.isdigit() and delivered.isdigit():
        return position if int(position) > int(delivered) else delivered
    return delivered


def _generation(rev: str) -> int:
    number, _, _ = rev.partition('-')
    return int(number) if number.isdigit() else 0
