"""Strict JSON request bodies: what the client meant, or a 400 that says what is wrong."""

from __future__ import annotations

import json
import re
from typing import TypeVar

from falcon.media import BaseHandler

from api.errors import Problem

MAX_DEPTH = 32  # nested objects/arrays; documents and Mango selectors need far fewer
# I-JSON (RFC 7493): beyond 2**53 integers lose precision in JavaScript, and a JavaScript server
# (pouchdb) stores an overflowing number as null. One simple rule for every number.
MAX_SAFE_INTEGER = 2**53 - 1
NumberT = TypeVar('NumberT', int, float)
_SURROGATE = re.compile('[\ud800-\udfff]')


class _Refused(ValueError):
    def __init__(self, problem_type: str, detail: str) -> None:
        super().__init__(detail)
        self.problem_type = problem_type


def _object(pairs: list[tuple[str, object]]) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            # Parsers disagree on which duplicate wins; refusing is the only unambiguous answer.
            raise _Refused('duplicate-key', f'The key {json.dumps(key[:64])} appears twice in one object.')
        seen.add(key)
    return dict(pairs)


def _bounded(value: NumberT, text: str) -> NumberT:
    if not abs(value) <= MAX_SAFE_INTEGER:  # also catches inf, from 1e999
        raise _Refused('invalid-json', f'The number {text[:32]} is outside ±(2**53-1).')
    return value


def _integer(text: str) -> int:
    return _bounded(int(text), text)  # more than 4300 digits: ValueError from Python itself


def _float(text: str) -> float:
    return _bounded(float(text), text)


def _constant(name: str) -> None:
    raise _Refused('invalid-json', f'{name} is not JSON.')


def _check_tree(value: object) -> None:
    """Bound the nesting, and refuse lone surrogates (valid JSON escapes, but not encodable text)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise _Refused('nesting-too-deep', f'The body nests deeper than {MAX_DEPTH} levels.')
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise _Refused('invalid-json', 'A key holds an unpaired UTF-16 surrogate.')
                stack.append((child, depth + 1))
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise _Refused('invalid-json', 'A string holds an unpaired UTF-16 surrogate.')


def parse(data: bytes) -> object:
    """UTF-8 JSON without duplicate keys, NaN/Infinity, unsafe numbers or deep nesting."""
    if not data.strip():
        raise Problem(400, 'invalid-json', 'The body is empty: send a JSON object.')
    try:
        # Decoded here, strictly: json.loads(bytes) would also guess UTF-16 and UTF-32.
        value = json.loads(
            data.decode('utf-8'),
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
        _check_tree(value)
    except _Refused as refused:
        raise Problem(400, refused.problem_type, str(refused)) from None
    except RecursionError:
        raise Problem(400, 'nesting-too-deep', f'The body nests deeper than {MAX_DEPTH} levels.') from None
    except UnicodeDecodeError:
        raise Problem(400, 'invalid-json', 'The body is not valid UTF-8.') from None
    except ValueError as e:  # json.JSONDecodeError, or an integer of too many digits
        raise Problem(400, 'invalid-json', f'The body is not valid JSON: {str(e)[:120]}') from None
    return value


class StrictJSONHandler(BaseHandler):
    """Falcon media handler for request bodies: `parse()` over the (already bounded) stream."""

    def deserialize(self, stream, content_type, content_length):
        return parse(stream.read())
