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
    except ValueError as e:  # the SDK refuses some ids before sending, e.g. a leading '_'
        raise Problem(400, 'invalid-document-id', str(e)) from None


def _never_sent(e: requests.exceptions.ConnectionError) -> bool:
    # requests wraps urllib3's error (in a MaxRetryError once retries ran out): a connect failure
    # (refused, unreachable, connect timeout) means not a byte of the request left.
    if isinstance(e, LoginUnavailable):
        return True
    cause = e.args[0] if e.args else None
    return isinstance(getattr(cause, 'reason', cause), ConnectTimeoutError)


def auth_refused() -> Problem:
    return Problem(502, 'upstream-auth', "The database refused couchgate's credentials.")


# The client's own request was wrong; e.g. 413: the SDK escapes non-ASCII text, so a body under
# API_MAX_BODY_BYTES can still exceed the database's document limit.
_PASSED_ON = {400: 'bad-request', 404: 'not-found', 412: 'precondition-failed', 413: 'payload-too-large'}


def _from_status(e: ApiException, conflict: Problem | None) -> Problem:
    reason = _reason(e)
    status = e.status_code
    if status == 409:
        return conflict or Problem(409, 'conflict', 'A document with this id exists already.')
    if status in _PASSED_ON:
        return Problem(status, _PASSED_ON[status], reason)
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


def _reason(e: ApiException) -> str:
    response = e.http_response
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        body = {}
    reason = body.get('reason') if isinstance(body, dict) else None
    return f'{body.get("error")}: {reason}' if reason else (e.message or 'error')
