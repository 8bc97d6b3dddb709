"""Rows of an upstream answer as they stream in: sliced out, their documents left as raw JSON."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import orjson
import requests

from api.errors import Problem
from api.upstream import deadline
from api.upstream.couch import Json
from api.upstream.failures import translated
from api.upstream.json_scan import ArrayItems, BadJson, members, text
from api.upstream.logins import Call

Items = Iterator[bytes]
# The start of a design document's id as the database writes it: listings and exports leave them out
# (clients may not read or write `_design/` ids; views and indexes are design/'s, api/config/design.py).
DESIGN = b'"_design/'
# The layout CouchDB and pouchdb write rows in, read with one match: a scan per row showed in the
# benchmark (3x the time of a listing of 1000 small documents).
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_ROW = re.compile(
    rb'\{"id":(' + _STRING + rb'),"key":' + _STRING + rb',"value":\{"rev":("[^"\\]*")\}(,"doc":)?',
    re.DOTALL,
)

# The same layout with an ASCII id free of escapes, anchored at the row's end: the fast path's test
# in one match (a row without a doc ends after its value; a doc is the row's last member).
_ASCII_ROW = re.compile(
    rb'\{"id":("[^"\\]*"),"key":' + _STRING + rb',"value":\{"rev":("[^"\\]*")\}'
    rb'(?:\}|,"doc":(.*\}))\Z',
    re.DOTALL,
)


@contextlib.contextmanager
def streamed_items(call: Call, request: Callable, member: str = 'rows') -> Iterator[tuple[Items, ArrayItems]]:
    """The items of the answer's array `member`, read as they arrive; unread rest: connection closed."""
    scanner = ArrayItems(member)
    with translated():
        response: requests.Response = call(request).get_result()
        try:
            yield (item for chunk in deadline.chunks(response) for item in scanner.feed(chunk)), scanner
        except (BadJson, KeyError):
            raise bad_json('listing') from None
        finally:
            response.close()


def fields(raw: bytes) -> dict[str, bytes]:
    """A row's id and rev (raw JSON strings) and its doc if any; {} for a key that is not there."""
    match = _ROW.match(raw)
    if match is not None and raw.endswith(b'}'):
        found = {'id': match.group(1), 'rev': match.group(2)}
        if match.group(3):
            found['doc'] = raw[match.end() : -1]  # the doc is a row's last member
        if match.group(3) or match.end() == len(raw) - 1:
            return found
    row = members(raw)  # any other layout: scanned
    if 'error' in row or 'value' not in row:
        return {}
    found = {'id': row['id'], 'rev': members(row['value'])['rev']}
    if 'doc' in row:
        found['doc'] = row['doc']
    return found


def listed(raw: bytes, include_docs: bool) -> Json | orjson.Fragment | None:
    """A row of `_all_docs` as the API lists it (None for a key that is not there, or a design document)."""
    usual = _ASCII_ROW.match(raw) if raw.isascii() else None
    if usual is not None:
        # The usual row, ASCII with nothing escaped in its id: one match, one formatting, no
        # list to join (103 rows of the benchmark, timeit: 137 -> 83 µs; with documents 166 -> 90).
        raw_id, rev, doc = usual.groups()
        if raw_id.startswith(DESIGN):
            return None
        if doc is None:
            tail = b',"doc":null}' if include_docs else b'}'
            return orjson.Fragment(b'{"id":%b,"rev":%b%b' % (raw_id, rev, tail))
        if include_docs:
            return orjson.Fragment(b'{"id":%b,"rev":%b,"doc":%b' % (raw_id, rev, doc))
    match = _ROW.match(raw)
    if match is not None and raw.endswith(b'}') and (match.group(3) or match.end() == len(raw) - 1):
        raw_id = match.group(1)
        if raw_id.startswith(DESIGN):
            return None  # one comparison of bytes: the listing is a hot path
        rev = match.group(2)
        if b'\\' not in raw_id and _utf8(raw_id) and _utf8(rev):
            # The usual row: its id and rev are JSON strings the API writes byte for byte as the
            # database did, so the listed row is built as bytes, with no str or dict in between.
            # Per row, a listing of 100 ids spent most of its time here.
            parts = [b'{"id":', raw_id, b',"rev":', rev]
            if include_docs:
                parts += [b',"doc":', memoryview(raw)[match.end() :] if match.group(3) else b'null}']
            else:
                parts.append(b'}')
            return orjson.Fragment(b''.join(parts))
    row = fields(raw)
    if not row or row['id'].startswith(DESIGN):
        return None
    doc_id = text(row['id'])
    found: Json = {'id': doc_id if has_utf8(doc_id) else orjson.Fragment(row['id']), 'rev': text(row['rev'])}
    if include_docs:
        found['doc'] = orjson.Fragment(row.get('doc', b'null'))
    return found


def _utf8(raw: bytes) -> bool:
    """Whether the bytes are UTF-8 (else the row goes the general way, which replaces what is not)."""
    if raw.isascii():
        return True
    try:
        raw.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


def has_utf8(doc_id: str) -> bool:
    """Whether the id has a UTF-8 form (and so a URL and an orjson string); a lone surrogate has not."""
    try:
        doc_id.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def bad_json(what: str) -> Problem:
    """What the client gets when the upstream's answer is not the JSON it should be."""
    return Problem(502, 'bad-gateway', f'The database sent a {what} that is not valid JSON.')
