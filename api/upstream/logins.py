"""Authentication shared by every thread of a worker: one login at a time, taken by all."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import Authenticator, IAMAuthenticator
from ibm_cloud_sdk_core.token_managers.iam_token_manager import IAMTokenManager
from ibmcloudant import CouchDbSessionAuthenticator

log = logging.getLogger('couchgate.auth')
T = TypeVar('T')
Call = Callable[[Callable[[], T]], T]


class LoginFailed(Exception):
    """The login endpoint refused couchgate's credentials or answered something unusable."""


class LoginUnavailable(requests.exceptions.ConnectionError):
    """The login another thread just attempted failed; this thread does not queue one more."""


class SingleFlight:
    """Runs one login at a time; a thread that waited for another's attempt takes its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed = False
        # Counts attempts once they end: a thread that read it while a login was in flight may have
        # sent the old credentials, and must then take that login's outcome, not start another.
        self.finished = 0

    def log_in(self, seen: int, login: Callable[[], None]) -> None:
        """Run `login`, unless an attempt ended since the caller read `finished` as `seen`."""
        with self._lock:
            if self.finished == seen:
                try:
                    login()  # its errors reach this thread's caller; waiters get LoginUnavailable
                    self._failed = False
                except BaseException:
                    self._failed = True
                    raise
                finally:
                    self.finished += 1
                return
            failed = self._failed
        if failed:
            raise LoginUnavailable('The login to the database failed just now.')


class CookieSessionAuthenticator(CouchDbSessionAuthenticator):
    """CouchDB cookie sessions for many threads: one POST /_session per expiry, not one per thread.

    ibmcloudant's own authenticator never logs in again after a 401, assumes a 24 h lifetime when
    the cookie has no Expires, sends `username` (CouchDB also reads `name`, pouchdb-server only
    `name`) and keeps the cookie in the shared session's jar. This one keeps it here, adds it to
    each request, and renews it when the server answers 401.
    """

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._logins = SingleFlight()
        self._cookie: str | None = None

    def authenticate(self, req: dict[str, Any]) -> None:
        seen = self._logins.finished
        if self._cookie is None:
            self._logins.log_in(seen, self._log_in)
        req['headers']['Cookie'] = f'AuthSession={self._cookie}'

    def call(self, operation: Callable[[], T]) -> T:
        """Run an upstream call; after a 401, renew the session (once for all threads) and run it again."""
        seen = self._logins.finished
        try:
            return operation()
        except ApiException as e:
            if e.status_code != 401:
                raise
        # A 401 means the server did nothing: sending the request again is safe, even a POST.
        self._logins.log_in(seen, self._log_in)
        return operation()

    def _log_in(self) -> None:
        # The SDK gave the token manager the service URL, couchgate's session and its timeouts.
        manager = self.token_manager
        response = manager.http_client.post(
            manager.url + '/_session',
            json={'name': manager.username, 'password': manager.password},
            headers=manager.headers,
            **manager.http_config,
        )
        if response.status_code == 429:
            raise ApiException(429, http_response=response)
        cookie = response.cookies.get('AuthSession') if response.ok else None
        if not cookie:
            raise LoginFailed(f'POST /_session answered {response.status_code} without a session.')
        self._cookie = cookie


class SharedIAMTokens(IAMTokenManager):
    """IAM tokens for many threads: one token request at a time, a refresh before expiry.

    The SDK's own pacing lets waiting threads poll for up to 60 s after a failed token request,
    past Heroku's 30 s limit; here they fail at once with the leader's outcome instead.
    """

    def __init__(self, apikey: str, *, url: str | None = None) -> None:
        super().__init__(apikey, url=url)
        self._logins = SingleFlight()

    def get_token(self) -> str:
        seen = self._logins.finished
        if self._is_token_expired():
            self._logins.log_in(seen, self._fetch)
        elif self._token_needs_refresh():  # from 80 % of the token's life, one thread per 60 s
            try:
                self._fetch()
            except (requests.RequestException, LoginFailed) as e:
                log.warning(
                    'IAM token refresh failed (%s); the current token is still valid', type(e).__name__
                )
        return self.access_token

    def _fetch(self) -> None:
        try:
            response = self.request_token()
        except ApiException as e:
            raise LoginFailed(f'The IAM token endpoint answered {e.status_code}.') from None
        try:
            self._save_token_info(response)
        except Exception as e:  # not a JWT, no exp...: a failed login, never a 500
            raise LoginFailed('The IAM token endpoint answered an unusable token.') from e


class SharedIAMAuthenticator(IAMAuthenticator):
    """IAM authentication whose token requests are single-flight (see SharedIAMTokens)."""

    def __init__(self, apikey: str, *, url: str | None = None) -> None:
        super().__init__(apikey, url=url)
        self.token_manager = SharedIAMTokens(apikey, url=url)


def relogin_for(authenticator: Authenticator) -> Call:
    """How the Couch port runs an upstream call: renewing a cookie session after a 401, or plainly."""
    if isinstance(authenticator, CookieSessionAuthenticator):
        return authenticator.call
    return plainly


def plainly(operation: Callable[[], T]) -> T:
    """Run an upstream call as it is (credentials that cannot log in again)."""
    return operation()
