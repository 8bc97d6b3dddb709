"""The worker's subscriptions, and one upstream feed per database that has any, fanned out in memory.

Each feed is a thread that long-polls the database's `_changes` from where it stopped (resumed there
when the database drops it, counted by the capacity guard as every upstream call is) and hands each
change to the subscriptions whose prefix it falls in: one dictionary lookup per prefix length, never
a read per subscriber. A feed ends once its last subscription has left.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from api.changes.subscription import PageWriter, Subscription
from api.errors import Problem
from api.upstream.connections import start_recording, stop_recording
from api.upstream.couch import Change, Changes, Couch

log = logging.getLogger('couchgate.changes')

FEED_WAIT = 10.0  # seconds a feed's long poll waits upstream: how long a feed outlives its last subscriber
FEED_PAGE = 500  # changes per upstream answer
RETRY_AFTER = 5  # seconds, on a 503 for too many streams
BACKOFF = (0.5, 1.0, 2.0, 5.0)  # seconds between attempts while the database fails a feed


class Hub:
    """Opens subscriptions (within CHANGES_MAX_STREAMS) and runs the feeds that fill them."""

    def __init__(self, couch: Couch, *, max_streams: int, heartbeat: float, page_bytes: int) -> None:
        self._couch = couch
        self._max_streams = max_streams
        self._heartbeat = heartbeat
        self._page_bytes = page_bytes
        self._lock = threading.Lock()
        self._starting = threading.Lock()  # one feed started at a time: its position is read first
        self._feeds: dict[str, _Feed] = {}
        self.open_count = 0

    def open(
        self,
        db: str,
        prefix: str | None,
        include_docs: bool,
        since: str,
        *,
        poll_limit: int | None = None,
        wait: float = 0.0,
        poll_page: PageWriter | None = None,
        doorbell: bool = False,
    ) -> Subscription:
        """A subscription from `since` ('now': the feed's present), registered before it catches up."""
        with self._lock:
            if self.open_count >= self._max_streams:
                raise Problem(
                    503,
                    'too-many-streams',
                    'This worker serves as many change streams as it may; try again shortly.',
                    headers={'Retry-After': str(RETRY_AFTER)},
                )
            self.open_count += 1
        reader = None
        if since != 'now' and poll_limit is None:  # a long poll's request reads its own page
            reader = lambda after: self._couch.changes(  # noqa: E731
                db,
                since=after,
                limit=FEED_PAGE,
                include_docs=include_docs,
                id_prefix=prefix,
                max_bytes=self._page_bytes,
            )
        subscription = Subscription(
            db,
            prefix,
            include_docs,
            since,
            reader=reader,
            on_close=self._closed,
            heartbeat=self._heartbeat,
            poll_limit=poll_limit,
            wait=wait,
            poll_page=poll_page,
            doorbell=doorbell,
            resume_at=(lambda: self.delivered(db)) if doorbell else None,
        )
        try:
            self._join(subscription, since == 'now')
        except BaseException:
            with self._lock:
                self.open_count -= 1
            raise
        return subscription

    def delivered(self, db: str) -> str | None:
        """Where the database's feed has offered every change up to, if it runs."""
        with self._lock:
            feed = self._feeds.get(db)
            return None if feed is None else feed.delivered

    def feeds(self) -> list[str]:
        """The databases this worker follows upstream now."""
        with self._lock:
            return sorted(self._feeds)

    def _join(self, subscription: Subscription, from_now: bool) -> None:
        """Add the subscription to its database's feed, started first if there is none."""
        db = subscription.db
        with self._lock:
            feed = self._feeds.get(db)
            if feed is not None:
                feed.add(subscription, from_now)
                return
        with self._starting:
            with self._lock:
                feed = self._feeds.get(db)
            fresh = feed is None
            if feed is None:
                # Where the present is, before any subscriber counts on it (one upstream request).
                feed = _Feed(self, db, self._couch.changes(db, since='now', limit=1).last_seq)
            with self._lock:
                self._feeds[db] = feed
                feed.add(subscription, from_now)
            if fresh:
                feed.start()

    def _closed(self, subscription: Subscription) -> None:
        with self._lock:
            self.open_count -= 1
            feed = self._feeds.get(subscription.db)
            if feed is not None:
                feed.remove(subscription)

    def _follow(self, feed: _Feed) -> None:
        """The feed's thread: long polls until no subscription is left."""
        failures = 0
        while True:
            with self._lock:
                if not feed.subscribers:
                    del self._feeds[feed.db]
                    return
                include_docs = feed.wants_docs()
            _record, token = start_recording()
            try:
                page = self._read(feed, include_docs, FEED_WAIT)
                with self._lock:
                    wanted = feed.wants_docs()
                if wanted and not include_docs and page.results:
                    # A subscriber that wants documents joined during the wait: the page again, with them.
                    page = self._read(feed, True, 0.0)
            except Exception as error:  # the database went away: resume from the same seq
                delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                problem = getattr(error, 'problem_type', type(error).__name__)
                log.warning('changes feed interrupted', extra={'fields': {'db': feed.db, 'problem': problem}})
                time.sleep(delay)  # this feed's thread only: its subscribers wait for the database
                continue
            finally:
                stop_recording(token)
            failures = 0
            with self._lock:
                feed.position = page.last_seq
                fan_out = feed.deliveries(page.results)
            for subscription, changes in fan_out:
                subscription.offer(changes)
            with self._lock:
                feed.delivered = page.last_seq  # every change up to here is with its subscribers

    def _read(self, feed: _Feed, include_docs: bool, wait: float) -> Changes:
        return self._couch.changes(
            feed.db,
            since=feed.position,
            limit=FEED_PAGE,
            include_docs=include_docs,
            wait=wait,
            max_bytes=self._page_bytes,
        )


class _Feed:
    """One database's upstream feed and its subscriptions, by prefix ('' for the whole database)."""

    def __init__(self, hub: Hub, db: str, position: str) -> None:
        self.db = db
        self.position = position  # where the next upstream read starts
        self.delivered = position  # every change up to here has been offered to its subscriptions
        self.subscribers = 0
        self._hub = hub
        self._by_prefix: dict[str, set[Subscription]] = collections.defaultdict(set)
        self._thread = threading.Thread(target=hub._follow, args=(self,), name=f'changes:{db}', daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, subscription: Subscription, from_now: bool) -> None:
        if from_now:
            subscription.position = self.position
        # A client at the feed's very position, nothing in flight: every later change comes to it.
        subscription.current = self.position == self.delivered == subscription.position
        self._by_prefix[subscription.prefix or ''].add(subscription)
        self.subscribers += 1

    def remove(self, subscription: Subscription) -> None:
        group = self._by_prefix.get(subscription.prefix or '')
        if group is not None and subscription in group:
            group.discard(subscription)
            self.subscribers -= 1
            if not group:
                del self._by_prefix[subscription.prefix or '']

    def wants_docs(self) -> bool:
        return any(s.include_docs for group in self._by_prefix.values() for s in group)

    def deliveries(self, changes: list[Change]) -> list[tuple[Subscription, list[Change]]]:
        """Each subscription with the changes in its part, in order (under the hub's lock)."""
        lengths = {len(prefix) for prefix in self._by_prefix}
        found: dict[Subscription, list[Change]] = {}
        for change in changes:
            for length in lengths:
                for subscription in self._by_prefix.get(change.id[:length], ()):
                    found.setdefault(subscription, []).append(change)
        return list(found.items())
