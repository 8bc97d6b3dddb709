"""Mango queries over an allowed database."""

from __future__ import annotations

from typing import ClassVar

from injector import inject

from api.config import Settings
from api.edge.id_prefix import id_prefix
from api.edge.request_input import json_object
from api.errors import Problem
from api.upstream.couch import Couch

_FIELDS = ('selector', 'fields', 'sort', 'limit', 'bookmark')


class Find:
    """A Mango query: selector (required), fields, sort, limit (at most 1000), bookmark."""

    scopes: ClassVar[dict[str, str]] = {'POST': 'query'}  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch, settings: Settings) -> None:
        self._couch = couch
        self._max_page_bytes = settings.max_page_bytes  # documents reach 1 MB: a limit is not a bound

    def on_post(self, req, resp, db):
        resp.media = self._couch.find(
            db, _query(json_object(req)), id_prefix=id_prefix(req), max_bytes=self._max_page_bytes
        )


def _query(body: dict) -> dict:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        _invalid(unknown[0], f'is not a query field (allowed: {", ".join(_FIELDS)})')
    if not isinstance(body.get('selector'), dict):
        _invalid('selector', 'is required and must be an object')
    if 'fields' in body and not (
        isinstance(body['fields'], list) and all(isinstance(f, str) for f in body['fields'])
    ):
        _invalid('fields', 'must be a list of field names')
    if 'sort' in body and not (isinstance(body['sort'], list) and all(map(_sort_item, body['sort']))):
        _invalid('sort', 'must be a list of field names or {"field": "asc" | "desc"} objects')
    limit = body.get('limit', 25)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        _invalid('limit', 'must be a whole number from 1 to 1000')
    if 'bookmark' in body and not isinstance(body['bookmark'], str):
        _invalid('bookmark', 'must be a string')
    # An empty sort or fields list means none (CouchDB: all fields, in index order); pouchdb-server
    # fails on `"sort": []`, so neither goes upstream.
    query = {k: v for k, v in body.items() if not (k in ('sort', 'fields') and v == [])}
    return dict(query, limit=limit)


def _sort_item(item: object) -> bool:
    """A field name, or one {field: direction}: what the OpenAPI document promises to accept."""
    if isinstance(item, str):
        return True
    return isinstance(item, dict) and len(item) == 1 and all(v in ('asc', 'desc') for v in item.values())


def _invalid(field: str, problem: str) -> None:
    raise Problem(400, 'invalid-query', f'"{field}" {problem}.')
