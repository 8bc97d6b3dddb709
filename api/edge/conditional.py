"""Validators for bodies that have none of their own, and 304s for the tags a client already has."""

from __future__ import annotations

import hashlib

from falcon import ETag

# Appended inside the quotes of a gzipped representation's ETag (RFC 9110 8.8.3: a strong tag
# names one sequence of bytes, and the gzip of a body is another one).
GZIP_SUFFIX = '-gzip'


def digest(body: bytes) -> str:
    """A strong tag for these exact bytes: 128 bits of BLAKE2b, as hex."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def base_tag(tag: str) -> str:
    """A tag with the gzip suffix removed: both representations name the same resource state."""
    return tag[: -len(GZIP_SUFFIX)] if tag.endswith(GZIP_SUFFIX) else tag


def opaque(header: str) -> str:
    """The tag of an ETag header without W/ and quotes: what If-None-Match tags are compared with."""
    return header.removeprefix('W/').strip('"')


def gzipped(header: str) -> str:
    """The ETag header of the gzipped representation: the suffix inside the quotes."""
    return header[:-1] + GZIP_SUFFIX + '"' if header.endswith('"') else header + GZIP_SUFFIX


def none_match(if_none_match: list[ETag] | None, current: str) -> bool:
    """True when If-None-Match names `current` (weak comparison, RFC 9110 13.1.2), or is `*`."""
    if not if_none_match:
        return False
    return any(tag == '*' or base_tag(str(tag)) == current for tag in if_none_match)


def unsuffixed_if_match(value: str | None) -> str | None:
    """If-Match with the gzip suffix taken off each tag, so the rev behind a gzipped ETag still matches."""
    if value is None or GZIP_SUFFIX not in value:
        return value
    return value.replace(GZIP_SUFFIX + '"', '"')
