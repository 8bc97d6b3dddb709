"""The views of design/ (views and indexes as code), queried over an allowed database."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from injector import inject

from api.config import Settings
from api.config.design import Design
from api.edge.id_prefix import id_prefix
from api.edge.request_input import json_object
from api.edge.view_query import body_keys, view_query
from api.edge.wtf8 import encoded
from api.errors import Problem
from api.upstream.couch import Couch, ViewQuery


class View:
    """GET: a view's rows, paged by `next`; POST {"keys": [...]}: the rows of those keys."""

    cache_control = 'no-cache'
    scopes: ClassVar[dict[str, str]] = {'GET': 'query', 'POST': 'query'}  # (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch, design: Design, settings: Settings) -> None:
        self._couch = couch
        self._design = design
        self._max_page_bytes = settings.max_page_bytes

    def on_get(self, req, resp, db, ddoc, view):
        has_reduce = self._served(req, db, ddoc, view)
        self._answer(req, resp, db, ddoc, view, view_query(req, has_reduce))

    def on_post(self, req, resp, db, ddoc, view):
        has_reduce = self._served(req, db, ddoc, view)
        keys = body_keys(json_object(req))
        self._answer(req, resp, db, ddoc, view, view_query(req, has_reduce, keys))

    def _served(self, req, db: str, ddoc: str, view: str) -> bool:
        """Whether the view reduces; 404 for a view design/ does not define, before any upstream call."""
        has_reduce = self._design.has_reduce(db, ddoc, view)
        if has_reduce is None:
            raise Problem(404, 'not-found', f'No view {ddoc}/{view} is defined for this database (design/).')
        if id_prefix(req) is not None:
            # A view's rows come from every document: a key limited to a prefix sees none of them.
            raise Problem(
                403,
                'view-outside-scope',
                f'The API key "{req.context.key_name}" sees only ids with its prefix; views span the '
                'whole database.',
            )
        return has_reduce

    def _answer(self, req, resp, db, ddoc, view, query: ViewQuery) -> None:
        page = self._couch.view(db, ddoc, view, query, max_bytes=self._max_page_bytes)
        resp.media = {'rows': page.rows}
        if page.next_key is not None and page.next_doc_id is not None:
            kept = ('end_key', 'descending', 'include_docs', 'reduce')
            params = {k: v for k, v in query.params.items() if k in kept}
            params.update(start_key=page.next_key, start_key_doc_id=page.next_doc_id, limit=str(query.limit))
            link = '&'.join(f'{k}={encoded(v)}' for k, v in params.items())
            path = f'/v1/{quote(db, safe="")}/views/{quote(ddoc, safe="")}/{quote(view, safe="")}'
            resp.media['next'] = f'{path}?{link}'
            resp.append_link(resp.media['next'], 'next')
        elif page.more:
            resp.media['truncated'] = True  # reduced or by keys: no next page, ask with a higher limit
