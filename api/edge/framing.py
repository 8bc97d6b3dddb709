"""Client framing errors as problem documents: from gunicorn's worker (a head it cannot parse) and
from the app (a chunked body gunicorn cannot read). Without this, the first were gunicorn's text/html
pages and the second a 500 with a traceback in the log."""

from __future__ import annotations

import ssl
from typing import Any

import falcon
from gunicorn.http import errors as http

from api.edge.request_head import HEAD_LIMIT, REQUEST_LINE_LIMIT
from api.errors import PROBLEM_JSON, Problem, handle_unexpected, problem_document, serialize_problem


class MissingHost(http.ParseException):
    """An HTTP/1.1 request without a Host header (RFC 9112 3.2)."""


class HeadTimeout(http.ParseException):
    """A request head that did not arrive within the deadline."""


# Raised while the app reads a body: registered as Falcon error handlers (api/app.py). TimeoutError:
# the client stopped sending its body (api/serving/body.py); upstream timeouts are Problems by then.
BODY_ERRORS: tuple[type[Exception], ...] = (http.ParseException, http.NoMoreData, TimeoutError)

# In order: the first entry whose classes match gives the answer.
_PROBLEMS: tuple[tuple[tuple[type[BaseException], ...], int, str, str], ...] = (
    (
        (http.InvalidResponseHeader, http.InvalidResponseHeaderName),
        500,
        'internal-error',
        'The answer had a malformed header.',
    ),
    (
        (http.InvalidChunkSize, http.ChunkMissingTerminator, http.InvalidChunkExtension, http.NoMoreData),
        400,
        'invalid-chunked-body',
        'The chunked body is malformed or ended before its last chunk: every line ends with CRLF, '
        'and a chunk size is hexadecimal digits only.',
    ),
    ((HeadTimeout,), 408, 'request-timeout', 'The request head did not arrive in time.'),
    ((TimeoutError,), 408, 'request-timeout', 'The request body stopped arriving.'),
    (
        (http.LimitRequestLine,),
        414,
        'uri-too-long',
        f'The request line is longer than {REQUEST_LINE_LIMIT} bytes.',
    ),
    (
        (http.LimitRequestHeaders,),
        431,
        'header-fields-too-large',
        f'The request head is over {HEAD_LIMIT} bytes, or one of its fields over 8190 bytes.',
    ),
    ((http.InvalidHTTPVersion,), 400, 'unsupported-http-version', 'Only HTTP/1.0 and HTTP/1.1 are served.'),
    ((MissingHost,), 400, 'missing-host', 'An HTTP/1.1 request needs a Host header.'),
    (
        (http.InvalidRequestLine, http.InvalidRequestMethod),
        400,
        'invalid-request-line',
        'The request line must be METHOD TARGET HTTP/1.x, ending with CRLF.',
    ),
    (
        (http.InvalidHeader, http.InvalidHeaderName, http.ObsoleteFolding),
        400,
        'invalid-header',
        'A header field is malformed, repeated where it must not be, or folded.',
    ),
    (
        (http.UnsupportedTransferCoding,),
        501,
        'not-implemented',
        'The only transfer coding accepted is chunked.',
    ),
    ((http.ExpectationFailed,), 417, 'expectation-failed', 'The only expectation served is 100-continue.'),
    ((http.ForbiddenProxyRequest, ssl.SSLError), 403, 'forbidden', 'The connection is refused.'),
    (
        (http.InvalidProxyLine, http.InvalidProxyHeader, http.InvalidSchemeHeaders, http.InvalidH2CPreface),
        400,
        'bad-request',
        'The request is malformed.',
    ),
)

# What api/edge/headers.SecurityHeaders gives every failed answer of the app (a test compares them).
SECURITY_HEADERS = (
    ('X-Content-Type-Options', 'nosniff'),
    ('Referrer-Policy', 'no-referrer'),
    ('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"),
    ('Cache-Control', 'no-store'),
)


def framing_types() -> set[str]:
    """Every problem type a framing error can be answered with."""
    return {problem_type for _, status, problem_type, _ in _PROBLEMS if status != 500}


def framing_problem(error: BaseException) -> Problem | None:
    """The answer to a client's framing error; None when the error is not the client's."""
    for classes, status, problem_type, detail in _PROBLEMS:
        if isinstance(error, classes):
            return None if status == 500 else Problem(status, problem_type, detail)
    return None


def handle_body_error(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Falcon error handler: a body gunicorn could not read is the client's error, not a 500."""
    problem = framing_problem(error)
    if problem is None:
        handle_unexpected(req, resp, error, params)
        return
    resp.status = problem.status
    serialize_problem(req, resp, problem)


def raw_answer(problem: Problem, request_id: str) -> bytes:
    """The whole HTTP/1.1 answer with `problem`, for the worker to write where the app never runs."""
    body = problem_document(problem, request_id)
    head = [
        f'HTTP/1.1 {problem.status}',
        'Connection: close',
        f'Content-Type: {PROBLEM_JSON}',
        f'Content-Length: {len(body)}',
        f'X-Request-ID: {request_id}',
        *(f'{name}: {value}' for name, value in SECURITY_HEADERS),
    ]
    return '\r\n'.join(head).encode('latin-1') + b'\r\n\r\n' + body
