"""The body as it goes out: a validator where a cacheable body has none, 304s, and gzip."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import falcon

from api.edge import conditional
from api.edge.compression import MIN_BYTES, GzipCache, GzipStream, accepts_gzip, compressible, gzip_bytes

# A file a resource streams (the docs' assets) is read whole to tag and compress it, up to this.
MAX_FILE_BYTES = 16 * 1024 * 1024


class Representation:
    """Runs on the final body whatever the resource set (media, data, text or stream).

    A successful GET of a cacheable resource (its `cache_control` other than no-store) with no
    ETag of its own gets a strong one over the body's bytes, and If-None-Match naming it gets a
    304. A compressible body of MIN_BYTES or more (or of unknown length) is gzipped when
    Accept-Encoding allows: its ETag gets the gzip suffix, and `Vary: Accept-Encoding` goes on
    every answer whose form could have depended on it.
    """

    def __init__(self) -> None:
        self._gzip_cache = GzipCache()
        self._files = FileCache()

    def process_request(self, req, resp):
        # A tag from a gzipped answer names the same rev: PUT and DELETE must see the bare rev.
        if_match = req.env.get('HTTP_IF_MATCH')
        if if_match is not None:
            req.env['HTTP_IF_MATCH'] = conditional.unsuffixed_if_match(if_match)

    def process_response(self, req, resp, resource, req_succeeded):
        if resp.status_code == 304:
            resp.append_header('Vary', 'Accept-Encoding')  # as its 200 would have
            return
        if resp.status_code < 200 or resp.status_code == 204 or req.method == 'OPTIONS':
            return  # no body (OPTIONS: a 204 once HeadAndOptions has run)
        if not compressible(resp.content_type or falcon.MEDIA_JSON) or getattr(resp.stream, 'live', False):
            return  # a live answer (changes) goes out as it comes, from the worker's stream loop
        resp.append_header('Vary', 'Accept-Encoding')
        body, tag = self._body(resp)
        ok = resp.status_code == 200 and req.method == 'GET'
        if ok and body is not None and resp.etag is None and _cacheable(resource):
            tag = tag or conditional.digest(body)
            resp.etag = tag
        else:
            tag = None
        gzip = accepts_gzip(req.get_header('Accept-Encoding')) and not resp.get_header('Content-Encoding')
        if (
            ok
            and resp.etag is not None
            and conditional.none_match(req.if_none_match, conditional.opaque(resp.etag))
        ):
            _not_modified(resp)
            if gzip and (body is None or len(body) >= MIN_BYTES):
                resp.etag = conditional.gzipped(resp.etag)  # the tag its 200 would have carried
            return
        if not gzip:
            return
        if body is None:
            if resp.stream is not None:
                resp.stream = GzipStream(resp.stream)
                self._encoded(resp)
            return
        if len(body) < MIN_BYTES:
            return
        _replace(resp, self._gzip_cache.get(tag, body) if tag else gzip_bytes(body))
        self._encoded(resp)

    def _body(self, resp) -> tuple[bytes | None, str | None]:
        """The body's bytes (None: a stream of unknown length) and, for a file, its digest."""
        body = resp.render_body()
        if body is not None:
            return body, None
        stream = resp.stream
        length = resp.get_header('Content-Length')
        if hasattr(stream, 'read') and length is not None and int(length) <= MAX_FILE_BYTES:
            body, digest = self._files.read(stream)
            _replace(resp, body)
            return body, digest
        return None, None

    @staticmethod
    def _encoded(resp) -> None:
        resp.set_header('Content-Encoding', 'gzip')
        resp.delete_header('Content-Length')
        if resp.etag is not None:
            resp.etag = conditional.gzipped(resp.etag)


def _cacheable(resource) -> bool:
    return getattr(resource, 'cache_control', 'no-store') != 'no-store'


class FileCache:
    """Files a resource streams (the docs' bundle: 1.5 MB), read and digested once per version.

    A version is the file's name, size and modification time; anything else is read each time.
    """

    def __init__(self, entries: int = 8) -> None:
        self._entries = entries
        self._cache: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, stream) -> tuple[bytes, str]:
        try:
            stat = os.fstat(stream.fileno())
            key: tuple | None = (stream.name, stat.st_size, stat.st_mtime_ns)
        except (AttributeError, OSError, ValueError):
            key = None
        try:
            with self._lock:
                if key is not None and key in self._cache:
                    return self._cache[key]
            body = stream.read()
        finally:
            stream.close()
        entry = body, conditional.digest(body)
        if key is not None:
            with self._lock:
                self._cache[key] = entry
                while len(self._cache) > self._entries:
                    self._cache.popitem(last=False)
        return entry


def _replace(resp, data: bytes) -> None:
    resp.text = None
    resp.media = None
    resp.stream = None
    resp.data = data
    resp.delete_header('Content-Length')


def _not_modified(resp) -> None:
    close = getattr(resp.stream, 'close', None)
    if close is not None:
        close()
    _replace(resp, b'')
    resp.data = None
    resp.delete_header('Content-Type')
    resp.status = falcon.HTTP_304
