"""Slicing stored JSON without parsing it: rows and documents pass through byte for byte.

Documents other clients stored may hold lone surrogates (orjson refuses them) or nest deeper than
any recursive parser goes; couchgate never needs their contents, only where each one starts and
ends. The scanner is a loop over a regular expression (no recursion), fed chunk by chunk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

_STRUCTURE = re.compile(rb'["\[\]{}]')
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SKIP = re.compile(rb'(?:[^"\[\]{}]+|"[^"\\]*(?:\\.[^"\\]*)*")*', re.DOTALL)
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)  # stops at its quote, or the end
_SEPARATORS = re.compile(rb'[\s,]*')
_SPACE = re.compile(rb'\s*')
_SCALAR = re.compile(rb'[^,}\]\s]*')
_KEY_BEFORE = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*$', re.DOTALL)
_QUOTED = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'


def _nested(depth: int) -> bytes:
    """A regex for the inside of a JSON object or array nested at most `depth` deep, brackets
    counted as the scanner counts them; possessive, so a failed match does not backtrack."""
    inner = rb'(?:[^"\[\]{}]++|' + _QUOTED + rb')*+'
    for _ in range(depth):
        inner = rb'(?:[^"\[\]{}]++|' + _QUOTED + rb'|[\[{]' + inner + rb'[\]}])*+'
    return inner


# A row of `_all_docs` in the layout CouchDB and pouchdb write, its document (if any) nested at
# most 8 deep, after any separators: taken in one match. Stepping bracket by bracket was the top
# cost of listings in the benchmark's profile. Any other item goes the bracket-by-bracket way.
_ROW = re.compile(
    rb'[\s,]*+(\{"id":' + _QUOTED + rb',"key":' + _QUOTED + rb',"value":\{"rev":"[^"\\]*"\}'
    rb'(?:,"doc":\{' + _nested(7) + rb'\})?\})',
    re.DOTALL,
)
_OPEN, _CLOSE, _QUOTE = b'[{', b']}', ord('"')


class BadJson(Exception):
    """The upstream sent something that is not the JSON it promised."""


def text(raw: bytes) -> str:
    """A JSON string as Python text; a lone surrogate survives (stdlib json keeps it)."""
    if b'\\' not in raw and raw[:1] == b'"' and raw[-1:] == b'"' and len(raw) > 1:
        return raw[1:-1].decode('utf-8', 'replace')  # nothing escaped: the common case, no parser
    try:
        value = json.loads(raw.decode('utf-8', 'replace'))
    except ValueError:
        value = None
    if not isinstance(value, str):
        raise BadJson('not a string')
    return value


class ArrayItems:
    """Feeds on a JSON object in chunks; hands out each item of its array `member` as raw bytes.

    Only the item being read and the object's other members are held, never the whole body.
    """

    def __init__(self, member: str) -> None:
        self._member = member
        self._buf = bytearray()
        self._pos = 0
        self._depth = 0
        self._in_array = False
        self._item_start: int | None = None
        self._head = b''
        self._seen_array = False
        self._in_string = False

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The items completed by this chunk, in order."""
        buf = self._buf
        buf += chunk
        while True:
            if self._in_string:
                # Resumed where the last chunk ended, so a long string is scanned once, not per chunk.
                end = _STRING_BODY.match(buf, self._pos).end()  # type: ignore[union-attr]
                if end == len(buf) or buf[end] != _QUOTE:
                    self._pos = end  # the string goes on in the next chunk
                    break
                self._pos, self._in_string = end + 1, False
            if self._in_array and self._depth == 2 and self._item_start is None:
                row = _ROW.match(buf, self._pos)
                if row is not None:
                    yield bytes(row.group(1))
                    self._pos = row.end()  # the buffer is trimmed once per chunk, at the end
                    continue
            # Past everything but brackets in one match (complete strings included): one step of
            # this loop per bracket, not per token.
            at = _SKIP.match(buf, self._pos).end()  # type: ignore[union-attr]
            if at == len(buf):
                self._pos = at
                break
            if buf[at] == _QUOTE:  # a string that goes on in the next chunk
                self._pos, self._in_string = at + 1, True
                continue
            self._pos = at + 1
            if buf[at] in _OPEN:
                if self._in_array and self._depth == 2:
                    self._item_start = at
                elif self._depth == 1 and buf[at] == ord('[') and self._is_our_array(at):
                    self._head = bytes(buf[:at])
                    self._in_array, self._seen_array = True, True
                    del buf[: at + 1]
                    self._pos = 0
                self._depth += 1
                continue
            self._depth -= 1
            if self._depth < 0:
                raise BadJson('unbalanced')
            if self._in_array and self._depth == 2 and self._item_start is not None:
                yield bytes(buf[self._item_start : at + 1])
                del buf[: at + 1]
                self._pos, self._item_start = 0, None
            elif self._in_array and self._depth == 1:
                self._in_array = False
                del buf[: at + 1]  # what follows is the rest of the object: kept, it is small
                self._pos = 0
        if self._in_array and self._item_start is None and self._pos:
            del buf[: self._pos]  # separators between items
            self._pos = 0

    def _is_our_array(self, at: int) -> bool:
        key = _KEY_BEFORE.search(bytes(self._buf[max(0, at - 4 * len(self._member) - 16) : at]))
        return key is not None and not self._seen_array and text(b'"' + key.group(1) + b'"') == self._member

    def rest(self, complete: bool = True) -> dict:
        """The object's other members (e.g. total_rows, bookmark): all once the body has ended,
        else (complete False: reading stopped early) those before the array."""
        if (complete and self._depth != 0) or not self._seen_array:
            raise BadJson('the body ended early')
        tail = bytes(self._buf) if complete else b'}'
        try:
            value = json.loads((self._head + b'[]' + tail).decode('utf-8', 'replace'))
        except (ValueError, RecursionError) as e:
            raise BadJson(str(e)) from None
        if not isinstance(value, dict):
            raise BadJson('not an object')
        return value


def members(raw: bytes) -> dict[str, bytes]:
    """The members of a JSON object: names as text, values as their raw bytes."""
    found: dict[str, bytes] = {}
    pos = _SPACE.match(raw).end()  # type: ignore[union-attr]
    if raw[pos : pos + 1] != b'{':
        raise BadJson('not an object')
    pos += 1
    while True:
        pos = _SEPARATORS.match(raw, pos).end()  # type: ignore[union-attr]
        if raw[pos : pos + 1] == b'}':
            return found
        name = _STRING.match(raw, pos)
        if name is None:
            raise BadJson('a member without a name')
        pos = _SPACE.match(raw, name.end()).end()  # type: ignore[union-attr]
        if raw[pos : pos + 1] != b':':
            raise BadJson('a member without a value')
        start = _SPACE.match(raw, pos + 1).end()  # type: ignore[union-attr]
        pos = value_end(raw, start)
        found[text(name.group())] = raw[start:pos]


def value_end(raw: bytes, start: int) -> int:
    """Where the JSON value that starts at `start` ends."""
    first = raw[start : start + 1]
    if first == b'"':
        string = _STRING.match(raw, start)
        if string is None:
            raise BadJson('an unterminated string')
        return string.end()
    if first and first in _OPEN:
        depth, pos = 0, start
        while (m := _STRUCTURE.search(raw, pos)) is not None:
            at = m.start()
            if raw[at] == _QUOTE:
                string = _STRING.match(raw, at)
                if string is None:
                    break
                pos = string.end()
                continue
            depth += 1 if raw[at] in _OPEN else -1
            pos = at + 1
            if depth == 0:
                return pos
        raise BadJson('an unterminated value')
    end = _SCALAR.match(raw, start).end()  # type: ignore[union-attr]
    if end == start:
        raise BadJson('a missing value')
    return end
