"""The request's edge: UTF-8 targets, JSON bodies of bounded size, refused before they are read."""

from __future__ import annotations

import io
from urllib.parse import unquote_to_bytes

import falcon

from api.edge.methods import BODY_METHODS
from api.errors import Problem


class RequestTarget:
    """Path and query must be UTF-8: otherwise Falcon would quietly turn bytes into U+FFFD.

    WTF-8 too: a lone surrogate, as stored ids may hold, is read back by api/edge/wtf8.py.
    """

    def process_request(self, req, resp):
        try:
            req.env.get('PATH_INFO', '').encode('latin-1').decode('utf-8', 'surrogatepass')
        except UnicodeError:
            raise Problem(400, 'invalid-encoding', 'The path is not valid UTF-8.') from None
        try:
            unquote_to_bytes(req.query_string.replace('+', ' ')).decode('utf-8', 'surrogatepass')
        except UnicodeError:
            raise Problem(400, 'invalid-encoding', 'The query string is not valid UTF-8.') from None


class BodyLimits:
    """Bodies are `application/json` of at most `max_bytes`; larger ones get 413 without being read."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes

    def process_resource(self, req, resp, resource, params):
        # Runs after the key and allowlist checks: strangers cannot make us read anything.
        if resource is None or req.method not in BODY_METHODS:
            return
        if not hasattr(resource, 'on_' + req.method.lower()):
            return  # a 405 follows
        media_type, options = falcon.parse_header(req.content_type or '')
        if media_type.lower() != falcon.MEDIA_JSON or options.get('charset', 'utf-8').lower() != 'utf-8':
            raise Problem(415, 'unsupported-media-type', 'Send the body as Content-Type: application/json.')
        chunked = self._framing(req)
        if req.content_length is not None and req.content_length > self._max:
            raise self._too_large()
        if chunked:
            # No length up front: read at most one byte past the limit, then serve the body from memory.
            data = req.stream.read(self._max + 1)
            if len(data) > self._max:
                raise self._too_large()
            req.env['wsgi.input'] = req.stream = io.BytesIO(data)
            req.env['CONTENT_LENGTH'] = str(len(data))

    def _framing(self, req) -> bool:
        """True for a chunked body; refuses framings that could be read two ways."""
        coding = req.get_header('Transfer-Encoding')
        if coding is None:
            return False
        if coding.strip().lower() != 'chunked':
            raise Problem(501, 'not-implemented', 'The only transfer coding accepted is chunked.')
        if req.env.get('CONTENT_LENGTH'):
            raise Problem(400, 'bad-request', 'Content-Length and Transfer-Encoding together are ambiguous.')
        if not req.env.get('wsgi.input_terminated'):
            # Without an end-of-body signal from the server, reading could block forever.
            raise Problem(411, 'length-required', 'Send the body with a Content-Length.')
        return True

    def _too_large(self) -> Problem:
        return Problem(413, 'payload-too-large', f'The body is larger than {self._max} bytes.')
