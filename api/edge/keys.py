"""API keys: who may read and write through couchgate."""

from __future__ import annotations

import hashlib
from hmac import compare_digest

from api.edge.methods import READ_METHODS
from api.errors import Problem

_REALM = 'Bearer realm="couchgate"'


def is_public(resource: object) -> bool:
    """Whether a resource needs no key, ever: its `public` attribute, which the OpenAPI document reads too."""
    return getattr(resource, 'public', False) is True


def _digest(secret: str) -> bytes:
    # Comparing fixed-length digests hides the length of the keys as well as their content.
    return hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).digest()


def _unauthorized(detail: str, error: str | None = None) -> Problem:
    # RFC 6750 3.1: the error code only when a bearer token was sent, and it was not valid.
    challenge = f'{_REALM}, error="{error}"' if error else _REALM
    return Problem(401, 'unauthorized', detail, headers={'WWW-Authenticate': challenge})


class ApiKeys:
    """Checks `Authorization: Bearer <key>` in constant time and records the key's name, never the key.

    Writes and queries (every POST, PUT, DELETE) need a key; with none configured they are
    refused, not open. Reads need one when `require_for_reads`. Resources marked
    `public = True` (health, docs) never do.
    """

    def __init__(self, keys: tuple[tuple[str, str], ...], *, require_for_reads: bool = False) -> None:
        self._keys = tuple((name, _digest(key)) for name, key in keys)
        self._require_for_reads = require_for_reads

    def process_resource(self, req, resp, resource, params):
        # No route (404) or no responder for the method (405): nothing is reached, say so instead.
        if resource is None or is_public(resource) or not hasattr(resource, 'on_' + req.method.lower()):
            return
        if not self._keys:
            if req.method not in READ_METHODS:
                raise Problem(
                    403,
                    'no-keys-configured',
                    'This request needs an API key, and couchgate has none configured (API_KEYS).',
                )
            return
        req.context.key_name = self.identify(req.get_header('Authorization'))
        needs_key = req.method not in READ_METHODS or self._require_for_reads
        if needs_key and req.context.key_name is None:
            raise _unauthorized('The API key is missing: send it as Authorization: Bearer <key>.')

    def identify(self, authorization: str | None) -> str | None:
        """The name of the key presented, None if none is; a wrong key is a 401, also on public reads."""
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(' ')
        token = token.strip()
        presented = _digest(token)
        found = None
        for name, digest in self._keys:
            # No early exit: the time taken does not depend on which key, if any, matched.
            if compare_digest(presented, digest):
                found = name
        if scheme.lower() != 'bearer':
            # e.g. `curl -u name:key`: say what to send instead of calling a right key wrong.
            raise _unauthorized(
                'Authorization must use the Bearer scheme (Basic is not accepted): '
                'send the key as Authorization: Bearer <key>.'
            )
        if not token:
            raise _unauthorized('The API key is missing: send it as Authorization: Bearer <key>.')
        if found is None:
            raise _unauthorized('The API key is not valid.', error='invalid_token')
        return found
