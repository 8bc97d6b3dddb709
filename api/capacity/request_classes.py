"""Which Cloudant request class an upstream call spends, and how many units, by IBM's published model.

IBM Cloudant counts reads, writes and global queries per second per instance (docs/capacity.md).
The adapter sees the method, the path and the body, and nothing else: that is what decides here.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import orjson

READS, WRITES, QUERIES = 'reads', 'writes', 'queries'
# Cloudant's X-Cloudant-Request-Class values, as ours.
CLOUDANT_NAMES = {'read': READS, 'write': WRITES, 'query': QUERIES, 'global_query': QUERIES}
_QUERY_ENDPOINTS = frozenset({'_all_docs', '_find', '_explain', '_changes'})
_DESIGN_QUERIES = frozenset({'_view', '_search', '_geo'})
_BULK = frozenset({'_bulk_docs', '_bulk_get'})


def classify(method: str, url: str, body: bytes | str | None = None) -> tuple[str, int]:
    """(request class, units) of one upstream request."""
    parts = [unquote(p) for p in urlsplit(url).path.split('/') if p]
    writes = method not in ('GET', 'HEAD')
    if len(parts) < 2:
        # GET / and /_up, /_session (logins), database info: reads; creating a database: a write.
        return (WRITES if writes and parts and not parts[0].startswith('_') else READS), 1
    endpoint = parts[1]
    if endpoint == '_partition':
        # A partitioned query reads within one partition: reads, not a global query.
        return READS, 1
    keys = _counted(body, 'keys') if endpoint == '_all_docs' and body and b'"keys"' in _bytes(body) else None
    if keys is not None:
        # Named documents, not a scan of the index: n reads, as `_bulk_get` (a lookup, and the read
        # that tells a bulk's conflicts apart). Only bodies naming "keys" are parsed: listings stay cheap.
        return READS, max(1, keys)
    if endpoint in _QUERY_ENDPOINTS:
        return QUERIES, 1
    if endpoint == '_design' and len(parts) >= 4 and parts[3] in _DESIGN_QUERIES:
        return QUERIES, 1
    if endpoint in _BULK:
        # One unit per document: _bulk_docs writes, _bulk_get reads.
        return (WRITES if endpoint == '_bulk_docs' else READS), max(1, _documents(body))
    if endpoint == '_index':
        return (WRITES if writes else READS), 1
    return (WRITES if writes else READS), 1


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _documents(body: bytes | str | None) -> int:
    counted = _counted(body, 'docs')
    return 1 if counted is None else counted


def _counted(body: bytes | str | None, member: str) -> int | None:
    """The length of the body's array `member`; None if there is none."""
    if not body:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    items = parsed.get(member) if isinstance(parsed, dict) else None
    return len(items) if isinstance(items, list) else None
