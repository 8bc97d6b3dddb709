"""Upstream failures as API problems: what a client sees when the database fails."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import requests
from ibm_cloud_sdk_core import ApiException
from urllib3.exceptions import ConnectTimeoutError

from api.errors import Problem
from api.upstream.logins import LoginFailed, LoginUnavailable


@contextlib.contextmanager
def translated(conflict: Problem | None = None, write: bool = False) -> Iterator[None]:
    """Turn upstream failures into API problems; never let them surface as a 500."""
    # A write cut off after it was sent may have been applied: it was not resent, say so.
    maybe = ' The write may have been applied: read it back before repeating it.' if write else ''
    try:
        yield
    except ApiException as e:
        raise _from_status(e, conflict) from None
    except LoginFailed:
        raise auth_refused() from None
    except requests.exceptions.ReadTimeout:
        raise Problem(504, 'upstream-timeout', 'The database did not answer in time.' + maybe) from None
    except requests.exceptions.SSLError:
        raise Problem(
            503,
            'upstream-unavailable',
            'TLS with the database failed (certificate not trusted?).',
            headers={'Retry-After': '5'},
        ) from None
    except requests.exceptions.ConnectionError as e:
        detail = 'The database cannot be reached.' + ('' if _never_sent(e) else maybe)
        raise Problem(503, 'upstream-unavailable', detail, headers={'Retry-After': '1'}) from None
    except requests.exceptions.RequestException:
        raise Problem(502, 'bad-gateway', 'The database exchange failed.' + maybe) from None
    except ValueError:  # the SDK refuses some ids before sending, e.g. a leading '_'
        raise Problem(400, 'invalid-document-id', 'The database does not accept this document id.') from None


def _never_sent(e: requests.exceptions.ConnectionError) -> bool:
    # requests wraps urllib3's error (in a MaxRetryError once retries ran out): a connect failure
    # (refused, unreachable, connect timeout) means not a byte of the request left.
    if isinstance(e, LoginUnavailable):
        return True
    cause = e.args[0] if e.args else None
    return isinstance(getattr(cause, 'reason', cause), ConnectTimeoutError)


def auth_refused() -> Problem:
    return Problem(502, 'upstream-auth', "The database refused couchgate's credentials.")


# Fixed sentences only: the upstream's own words (`not_found: missing`, a JavaScript exception's
# message) say nothing useful to an API client and tell it what runs behind couchgate.
_REFUSED = {
    400: Problem(400, 'bad-request', 'The database refused the request as invalid.'),
    404: Problem(404, 'not-found', 'No document with this id.'),
    412: Problem(412, 'precondition-failed', 'The database refused the request: a precondition failed.'),
    # The SDK escapes non-ASCII text: a body under API_MAX_BODY_BYTES can exceed the document limit.
    413: Problem(413, 'payload-too-large', 'The document is larger than the database accepts.'),
}
_NO_DATABASE = 'The database does not exist.'
_SORT_NEEDS_INDEX = 'The database has no index for this sort: sort on indexed fields, or leave "sort" out.'


def _from_status(e: ApiException, conflict: Problem | None) -> Problem:
    status = e.status_code
    if status == 409:
        return conflict or Problem(409, 'conflict', 'A document with this id exists already.')
    if status == 400 and _sort_without_index(e):
        return Problem(400, 'sort-needs-index', _SORT_NEEDS_INDEX)
    if status == 404 and _database_missing(e):
        return Problem(404, 'not-found', _NO_DATABASE)
    if status in _REFUSED:
        known = _REFUSED[status]
        return Problem(status, known.problem_type, known.description or '')
    if status == 429:
        retry_after = e.http_response.headers.get('Retry-After') if e.http_response is not None else None
        return Problem(
            429,
            'too-many-requests',
            'The database is throttling requests.',
            headers={'Retry-After': retry_after or '1'},
        )
    if status in (401, 403):
        return auth_refused()
    return Problem(502, 'bad-gateway', f'The database answered {status}.')


def _sort_without_index(e: ApiException) -> bool:
    # CouchDB and Cloudant say no_usable_index; pouchdb-server "Cannot sort on field(s) ... index".
    error, reason = _error_and_reason(e)
    return error == 'no_usable_index' or ('sort' in reason and 'index' in reason)


def _database_missing(e: ApiException) -> bool:
    # CouchDB: "Database does not exist."; pouchdb-server: no_db_file. A document: missing, deleted.
    _, reason = _error_and_reason(e)
    return 'database' in reason or reason == 'no_db_file'


def _error_and_reason(e: ApiException) -> tuple[str, str]:
    """The upstream's error code and reason, lower case: to choose a sentence, never to quote."""
    response = e.http_response
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        return '', ''
    return str(body.get('error') or '').lower(), str(body.get('reason') or '').lower()
