"""The Idempotency-Key header (IETF httpapi draft): its value, and the ids a keyed create derives from it."""

from __future__ import annotations

import hashlib
import re

import falcon

from api.errors import Problem

HEADER = 'Idempotency-Key'
_VALUE = re.compile('[\x21-\x7e]{1,255}')  # printable ASCII, as the draft's sf-string holds


def idempotency_key(req: falcon.Request) -> str | None:
    """The request's Idempotency-Key, quoted (the draft's sf-string) or bare; None if absent."""
    raw = req.get_header(HEADER)
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _VALUE.fullmatch(value) or '"' in value or '\\' in value:
        raise Problem(
            400,
            'invalid-idempotency-key',
            'Idempotency-Key must be 1-255 printable ASCII characters, e.g. a UUID.',
        )
    return value


def derived_id(req: falcon.Request, scope: str, index: int | None = None) -> str:
    """The id of a create without `_id` under an Idempotency-Key: the same on every resend, so a
    repeat conflicts instead of writing a copy; within the API key's prefix, if it has one."""
    key = req.context.key
    prefix = key.id_prefix if key is not None and key.id_prefix else ''
    salt = '' if index is None else f'\0{index}'
    return prefix + hashlib.sha256((scope + salt).encode()).hexdigest()[:32]
