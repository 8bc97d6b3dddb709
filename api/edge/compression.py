"""gzip for responses: whole bodies at once, streams chunk by chunk, each chunk flushed."""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator

MIN_BYTES = 1024  # below this, gzip's header and CPU cost more than they save
LEVEL = 6  # zlib's default: most of level 9's saving at a fraction of its CPU
# Text formats only: images and archives are compressed already.
_COMPRESSIBLE = ('application/json', 'application/problem+json', 'application/x-ndjson', 'text/')
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer, mtime 0: the same bytes every time


def compressible(content_type: str | None) -> bool:
    media_type = (content_type or '').split(';', 1)[0].strip().lower()
    return media_type.startswith(_COMPRESSIBLE) or media_type.endswith('+json')


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether Accept-Encoding lets us send gzip: listed (or `*`) with a q-value above 0 (RFC 9110 12.5.3)."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(','):
        coding, *params = (part.strip() for part in item.split(';'))
        weight = 1.0
        for param in params:
            name, _, value = param.partition('=')
            if name.strip().lower() == 'q':
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # a q-value we cannot read is no consent
        if coding:
            weights[coding.lower()] = weight
    return weights.get('gzip', weights.get('x-gzip', weights.get('*', 0.0))) > 0


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    return compressor.compress(data) + compressor.flush()


class GzipCache:
    """The gzip of bodies that repeat (the docs' bundle, the OpenAPI document, an unchanged
    listing), by their digest: at most `entries` of at most `max_bytes` each, per worker."""

    def __init__(self, entries: int = 8, max_bytes: int = 2 * 1024 * 1024) -> None:
        self._entries = entries
        self._max_bytes = max_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threads share one cache per worker

    def get(self, digest: str, data: bytes) -> bytes:
        if len(data) > self._max_bytes:
            return gzip_bytes(data)  # a big listing of big documents: not worth its memory
        with self._lock:
            if digest in self._cache:
                self._cache.move_to_end(digest)
                return self._cache[digest]
        compressed = gzip_bytes(data)  # outside the lock: two threads may both compress, once
        with self._lock:
            self._cache[digest] = compressed
            while len(self._cache) > self._entries:
                self._cache.popitem(last=False)
        return compressed


class GzipStream:
    """A response body compressed as it streams: each chunk goes out as soon as it comes in.

    A sync flush per chunk costs a few bytes, and keeps a slow export flowing to the client
    instead of waiting in the compressor. close() closes the body it wraps (the export's paging).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._iterator: Iterator[bytes] = iter(chunks)
        self._compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP_WBITS)
        self._done = False

    def __iter__(self) -> GzipStream:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        for chunk in self._iterator:
            if chunk:  # an empty chunk could read as the end of the body
                return self._compressor.compress(chunk) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        self._done = True
        return self._compressor.flush()  # the gzip trailer: a body without it reads as cut short

    def close(self) -> None:
        close = getattr(self._chunks, 'close', None)
        if close is not None:
            close()
