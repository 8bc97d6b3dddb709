"""Many documents by id in one upstream request."""

from __future__ import annotations

from typing import ClassVar

from injector import inject

from api.config import Settings
from api.edge.batch_input import lookup_ids
from api.edge.id_prefix import id_prefix
from api.upstream.couch import Couch


class Lookup:
    """`{"ids": [...]}` → `{"docs": [...]}` in request order: {id, rev, doc}, or {id, status: 404}."""

    scopes: ClassVar[dict[str, str]] = {'POST': 'read'}  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch, settings: Settings) -> None:
        self._couch = couch
        # Documents reach 1 MB and a lookup names 1,000: its answer is bounded in bytes, not ids.
        self._max_page_bytes = settings.max_page_bytes

    def on_post(self, req, resp, db):
        ids = lookup_ids(req)
        prefix = id_prefix(req) or ''
        # Outside a key's prefix an id is missing, as GET says: not asked for upstream at all.
        asked = list(dict.fromkeys(i for i in ids if i.startswith(prefix)))
        found = {}
        if asked:
            entries = self._couch.lookup(db, asked, max_bytes=self._max_page_bytes)
            found = {entry['id']: entry for entry in entries}
        resp.media = {'docs': [found.get(i) or {'id': i, 'status': 404} for i in ids]}
