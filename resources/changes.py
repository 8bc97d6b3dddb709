"""The changes of an allowed database: a Server-Sent Events stream, or a long poll's JSON page."""

from __future__ import annotations

import re
from typing import ClassVar

import falcon
from injector import inject

from api.changes import events
from api.changes.hub import Hub
from api.config import Settings
from api.edge.id_prefix import id_prefix
from api.edge.request_input import SINCE_PATTERN, bool_param, int_param, single_param
from api.errors import Problem
from api.upstream.couch import Changes, Couch

_SINCE = re.compile(SINCE_PATTERN)
MAX_WAIT = 25  # seconds: a long poll answers within Heroku's 30 s to the first byte


class ChangesFeed:
    """Every change of the documents a key or user may see, as it happens."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read'}
    token_in_query = True  # RFC 6750 2.3: a browser's EventSource cannot send Authorization
    cache_control = 'no-store'

    @inject
    def __init__(self, couch: Couch, hub: Hub, settings: Settings) -> None:
        self._couch = couch
        self._hub = hub
        self._max_page_bytes = settings.max_page_bytes

    def on_get(self, req, resp, db):
        include_docs = bool_param(req, 'include_docs')
        if 'text/event-stream' in (req.get_header('Accept') or ''):
            since = _since(req.get_header('Last-Event-ID') or single_param(req, 'since') or 'now')
            subscription = self._hub.open(db, id_prefix(req), include_docs, since)
            try:
                subscription.prefetch()
            except BaseException:
                subscription.close()
                raise
            resp.content_type = 'text/event-stream'
            resp.stream = subscription
            return
        since = _since(single_param(req, 'since') or '0')
        limit = int_param(req, 'limit', default=100, minimum=1, maximum=1000)
        wait = int_param(req, 'wait', default=0, minimum=0, maximum=MAX_WAIT)
        resp.content_type = falcon.MEDIA_JSON
        if not wait:
            resp.data = _page(self._read(req, db, since, limit, include_docs), include_docs)
            return
        # Registered with the feed before the read: a change in between waits for this poll.
        subscription = self._hub.open(db, id_prefix(req), include_docs, since, poll_limit=limit, wait=wait)
        try:
            page = self._read(req, db, since, limit, include_docs)
        except BaseException:
            subscription.close()
            raise
        if page.results:
            subscription.close()
            resp.data = _page(page, include_docs)
            return
        subscription.caught_up(page.last_seq)
        resp.stream = subscription

    def _read(self, req, db: str, since: str, limit: int, include_docs: bool) -> Changes:
        return self._couch.changes(
            db,
            since=since,
            limit=limit,
            include_docs=include_docs,
            id_prefix=id_prefix(req),
            max_bytes=self._max_page_bytes,
        )


def _since(raw: str) -> str:
    if not _SINCE.fullmatch(raw):
        raise Problem(
            400,
            'invalid-since',
            'since (or Last-Event-ID) must be 0, now, or a seq from an earlier change of this database.',
        )
    return raw


def _page(page: Changes, include_docs: bool) -> bytes:
    return events.page([events.item(c, include_docs, seq=True) for c in page.results], page.last_seq)
