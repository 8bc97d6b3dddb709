"""JSON values exactly as databases and clients write them: fast with orjson, exact with the stdlib.

orjson refuses integers beyond 64 bits and lone surrogates, which CouchDB stores and serves; the
standard library takes both, so every stored document and every answer passes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(raw: bytes) -> Any:
    """The value of JSON text; ValueError if it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def dumps(value: Any) -> bytes:
    """JSON text of any value `loads` gives back (orjson.Fragments too, through orjson)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode('utf-8', 'surrogatepass')
