"""API errors, rendered as RFC 9457 problem documents (application/problem+json); under /sync/, where
replicators expect CouchDB, as CouchDB's `{"error", "reason"}` in the API's own words."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import falcon

PROBLEM_JSON = 'application/problem+json'
PROBLEMS_PATH = '/problems/'  # + a type's name: a page (resources/problems.py) says what it means
SYNC_PATH = '/sync'  # the replication endpoint (resources/sync.py): CouchDB's error shape
log = logging.getLogger('couchgate.errors')

# The problem type of Falcon's own errors, by status.
_TYPES = {
    400: 'bad-request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not-found',
    405: 'method-not-allowed',
    406: 'not-acceptable',
    408: 'request-timeout',
    409: 'conflict',
    411: 'length-required',
    412: 'precondition-failed',
    413: 'payload-too-large',
    414: 'uri-too-long',
    415: 'unsupported-media-type',
    428: 'precondition-required',
    429: 'too-many-requests',
    431: 'header-fields-too-large',
    500: 'internal-error',
    502: 'bad-gateway',
    503: 'upstream-unavailable',
    504: 'upstream-timeout',
}


class Problem(falcon.HTTPError):
    """An API error with a stable problem type."""

    def __init__(self, status: int, problem_type: str, detail: str, *, headers: dict | None = None) -> None:
        status_line = falcon.code_to_http_status(status)
        super().__init__(status_line, title=reason_phrase(status), description=detail, headers=headers)
        self.problem_type = problem_type


def reason_phrase(status: int) -> str:
    """Every problem's title: the status's reason phrase ("Not Found"), whoever raised the error."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status Python does not name
        return 'Error'


def problem_type_uri(error: falcon.HTTPError) -> str:
    name = getattr(error, 'problem_type', None)
    if name is None and isinstance(error, (falcon.HTTPInvalidParam, falcon.HTTPMissingParam)):
        name = 'invalid-parameter'
    return PROBLEMS_PATH + (name or _TYPES.get(error.status_code, 'error'))


# Every type the serializer gives Falcon's own errors.
FALCON_TYPES = frozenset({*_TYPES.values(), 'invalid-parameter', 'error'})


def problem_document(error: falcon.HTTPError, request_id: str | None) -> bytes:
    """The problem document of `error`, as the app and gunicorn's worker (api/serving/worker.py) send it."""
    # Falcon's own errors carry titles of their own ("404 Not Found", "Invalid parameter"): one style
    # for all. Their description, or else that title, becomes the detail, so nothing is lost.
    title = reason_phrase(error.status_code)
    body = {
        'type': problem_type_uri(error),
        'title': title,
        'status': error.status_code,
        'detail': error.description or error.title or title,
        'request_id': request_id,
    }
    return json.dumps(body).encode()


# CouchDB's error names, by status: what replicators (PouchDB's `denied`, a 404's setup) act on.
_COUCH_ERRORS = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    406: 'not_acceptable',
    409: 'conflict',
    412: 'precondition_failed',
    413: 'too_large',
    415: 'bad_content_type',
    429: 'too_many_requests',
    503: 'service_unavailable',
    504: 'timeout',
}


def couch_error_document(error: falcon.HTTPError) -> bytes:
    """`{"error", "reason"}` as CouchDB writes them; the reason is the problem's detail."""
    reason = error.description or error.title or reason_phrase(error.status_code)
    return json.dumps(
        {'error': _COUCH_ERRORS.get(error.status_code, 'unknown_error'), 'reason': reason}
    ).encode()


def serialize_problem(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Falcon error serializer: every HTTPError becomes a problem document (CouchDB's error under /sync)."""
    if req.path == SYNC_PATH or req.path.startswith(SYNC_PATH + '/'):
        resp.content_type = falcon.MEDIA_JSON
        resp.data = couch_error_document(error)
        return
    resp.content_type = PROBLEM_JSON
    resp.data = problem_document(error, req.context.request_id)


def handle_unexpected(req, resp, ex, params) -> None:
    """Last resort: log the traceback under the request id, answer a bare 500 problem."""
    log.error('unhandled error', exc_info=ex, extra={'fields': {'request_id': req.context.request_id}})
    problem = Problem(500, 'internal-error', 'Unexpected error; the log has it under this request id.')
    resp.status = problem.status
    serialize_problem(req, resp, problem)
