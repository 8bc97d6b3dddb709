"""A prefix key's part of the id space, as the upstream sees it: key ranges and Mango selectors.

The ids that start with a prefix P are exactly those from P to P + the highest id, in any order
that compares ids unit by unit (code points for CouchDB, UTF-16 code units for pouchdb): a client's
range is intersected with that one, in the server's own order, so no other row is ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from api.upstream.json_scan import members, text

# CLDR gives U+FFFF the highest primary weight: the top of a Mango (ICU collated) `_id` range.
_ICU_HIGHEST = '\uffff'
_REGEX_SPECIAL = re.compile(r'([\\^$.|?*+()\[\]{}/-])')


def _order(utf16: bool) -> Callable[[str], bytes]:
    # Big-endian code units compare as bytes in the order of the units: UTF-32 units are code points.
    codec = 'utf-16-be' if utf16 else 'utf-32-be'
    return lambda s: s.encode(codec, 'surrogatepass')


def clamped(
    prefix: str, start: str | None, end: str | None, *, descending: bool, highest: str, utf16: bool
) -> tuple[str, str] | None:
    """The client's (start_key, end_key) within the prefix's range; None when nothing is left."""
    order = _order(utf16)
    low, high = prefix, prefix + highest
    if descending:
        start = high if start is None or order(start) > order(high) else start
        end = low if end is None or order(end) < order(low) else end
        return (start, end) if order(start) >= order(end) else None
    start = low if start is None or order(start) < order(low) else start
    end = high if end is None or order(end) > order(high) else end
    return (start, end) if order(start) <= order(end) else None


def servable(start: str | None, end: str | None, *, descending: bool) -> list[tuple[str | None, str | None]]:
    """A code point range as requests pouchdb's leveldb adapter serves: in one, or split in two.

    That adapter keeps ids in code point order (UTF-8 bytes), but answers a range whose keys are out
    of order as JavaScript compares them (UTF-16 units) with nothing: from `\uff21…` (fullwidth)
    up to `\U0010ffff` it finds no row, while code points put every astral id there. Such a range
    is asked for in two parts, up to `\uffff…` and from `\U00010000`, where both orders agree.
    """
    if start is None or end is None:
        return [(start, end)]
    utf16 = _order(True)
    if (utf16(start) >= utf16(end)) if descending else (utf16(start) <= utf16(end)):
        return [(start, end)]
    at = next((i for i, (a, b) in enumerate(zip(start, end, strict=False)) if a != b), None)
    if at is None:
        return [(start, end)]  # one is a prefix of the other: both orders agree
    common, bmp_top, astral_low = start[:at], '\uffff' * 4, '\U00010000'
    if descending:
        return [(start, common + astral_low), (common + bmp_top, end)]
    return [(start, common + bmp_top), (common + astral_low, end)]


def selector_within(selector: dict, prefix: str, *, highest: str, utf16: bool) -> dict:
    """The client's selector ANDed with the prefix: an `_id` range (for an index) and a pattern.

    The range alone is not enough on CouchDB, whose Mango compares by ICU collation (`T7:x` sorts
    between `t7:` and `t7:\\uffff` there); the anchored pattern holds in every collation.
    """
    upper = prefix + (highest if utf16 else _ICU_HIGHEST)
    return {
        '$and': [
            {'_id': {'$gte': prefix, '$lte': upper}},
            {'_id': {'$regex': '^' + _REGEX_SPECIAL.sub(r'\\\1', prefix)}},
            selector,
        ]
    }


def query_within(query: dict, prefix: str, *, highest: str, utf16: bool) -> dict:
    """A Mango query clamped to the prefix; `_id` is always returned, so each doc can be checked."""
    clamped_query = dict(
        query, selector=selector_within(query['selector'], prefix, highest=highest, utf16=utf16)
    )
    if query.get('fields') and '_id' not in query['fields']:
        clamped_query['fields'] = [*query['fields'], '_id']
    return clamped_query


def rows_within(items: Iterator[bytes], prefix: str | None, member: str = 'id') -> Iterator[bytes]:
    """The rows (or docs) whose id starts with the prefix: a second guard, after the clamped request."""
    if prefix is None:
        return items
    return (raw for raw in items if _id_of(raw, member).startswith(prefix))


def _id_of(raw: bytes, member: str) -> str:
    found = members(raw).get(member)
    return text(found) if found is not None else ''
