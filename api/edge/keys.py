"""API keys: who may do what, on which databases, through couchgate."""

from __future__ import annotations

from hmac import compare_digest

from api.auth.principals import InvalidToken, Principal
from api.auth.verifier import TokenVerifier, looks_like_jwt
from api.config.capacity import PerClass
from api.config.keys import ApiKey, digest_of
from api.edge.methods import READ_METHODS
from api.errors import Problem

_REALM = 'Bearer realm="couchgate"'
ANONYMOUS_SCOPES = frozenset({'read'})


def is_public(resource: object) -> bool:
    """Whether a resource needs no key, ever: its `public` attribute, which the OpenAPI document reads too."""
    return getattr(resource, 'public', False) is True


def needs_principal(resource: object) -> bool:
    """Whether a resource serves only a key or a signed-in user, reads too (`anonymous = False`):
    replication (/sync) copies a principal's whole part of a database, never a stranger's."""
    return getattr(resource, 'anonymous', True) is False


def scope_of(resource: object, method: str) -> str:
    """The scope a method of a resource needs: its `scopes` (the OpenAPI document reads them too)."""
    scopes = getattr(resource, 'scopes', {})
    return scopes.get(method, 'read' if method in READ_METHODS else 'write')


def _unauthorized(detail: str, error: str | None = None) -> Problem:
    # RFC 6750 3.1: the error code only when a bearer token was sent, and it was not valid.
    challenge = f'{_REALM}, error="{error}"' if error else _REALM
    return Problem(401, 'unauthorized', detail, headers={'WWW-Authenticate': challenge})


def _invalid_token(refused: InvalidToken) -> Problem:
    # RFC 6750 3: error_description names the failed check; it never quotes the token or a claim.
    return Problem(
        401,
        'invalid-token',
        f'The token was refused: {refused.description}.',
        headers={
            'WWW-Authenticate': (
                f'{_REALM}, error="invalid_token", error_description="{refused.description}"'
            )
        },
    )


def _insufficient(key: ApiKey, scope: str) -> Problem:
    whose = f'The token of "{key.name}"' if isinstance(key, Principal) else f'The API key "{key.name}"'
    return Problem(
        403,
        'insufficient-scope',
        f'{whose} lacks the scope "{scope}" this request needs.',
        headers={'WWW-Authenticate': f'Bearer error="insufficient_scope", scope="{scope}"'},
    )


def _authorization(req, resource) -> str | None:
    """The Authorization header, or on a route that takes it (`token_in_query`, for a browser's
    EventSource) the `access_token` query parameter as a bearer (RFC 6750 2.3), never both."""
    header = req.get_header('Authorization')
    if getattr(resource, 'token_in_query', False) is not True:
        return header
    tokens = req.get_param_as_list('access_token') or []
    if not tokens:
        return header
    if header is not None or len(tokens) > 1:
        raise Problem(
            400,
            'invalid-parameter',
            'Send the bearer once: in the Authorization header or as one access_token parameter.',
        )
    return f'Bearer {tokens[0]}'


class ApiKeys:
    """Checks `Authorization: Bearer <key>` in constant time, then the scope the request needs.

    The key found (never the key itself: its name, scopes, databases, prefix) goes in the request
    context. Anonymous clients have `read` unless `require_for_reads`; with no keys configured
    anything else is refused, not open. Resources marked `public = True` (health, docs) need no key.
    """

    def __init__(
        self,
        keys: tuple[ApiKey, ...],
        *,
        require_for_reads: bool = False,
        anonymous_quota: PerClass | None = None,
        tokens: TokenVerifier | None = None,
    ) -> None:
        self._keys = keys
        self._tokens = tokens  # None without AUTH_ISSUERS
        self._require_for_reads = require_for_reads
        self._anonymous_quota = anonymous_quota

    def process_resource(self, req, resp, resource, params):
        # No route (404) or no responder for the method (405): nothing is reached, say so instead.
        if resource is None or is_public(resource) or not hasattr(resource, 'on_' + req.method.lower()):
            return
        scope = scope_of(resource, req.method)
        # Whose quota the request's upstream calls spend (the capacity guard reads the record).
        req.context.upstream_record.quota = self._anonymous_quota
        if not self._keys and self._tokens is None:
            if needs_principal(resource):
                raise _unauthorized('This route needs a key or a signed-in user, and none is configured.')
            if scope not in ANONYMOUS_SCOPES:
                raise Problem(
                    403,
                    'no-keys-configured',
                    'This request needs an API key, and couchgate has none configured (API_KEYS).',
                )
            return
        key = self.identify(_authorization(req, resource))
        if key is None:
            if scope not in ANONYMOUS_SCOPES or self._require_for_reads or needs_principal(resource):
                raise _unauthorized('The API key is missing: send it as Authorization: Bearer <key>.')
            return
        req.context.key = key
        req.context.key_name = key.name
        # A user's records and quota are their own (iss + sub); a key's are its name's.
        req.context.owner = key.owner if isinstance(key, Principal) else key.name
        req.context.subject = key.subject if isinstance(key, Principal) else None
        req.context.upstream_record.quota_key = req.context.owner
        req.context.upstream_record.quota_label = key.name
        req.context.upstream_record.quota = key.quota
        if scope not in key.scopes:
            raise _insufficient(key, scope)

    def identify(self, authorization: str | None) -> ApiKey | None:
        """The key (or a token's principal) presented, None if none is; a wrong one is a 401, also on
        public reads. A bearer of three base64url segments is a JWT, unless it is a configured key."""
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(' ')
        token = token.strip()
        # Comparing fixed-length digests hides the length of the keys as well as their content; a
        # hashed key (`sha256`) is checked the same way, its plaintext never known here.
        presented = digest_of(token)
        found = None
        for key in self._keys:
            # No early exit: the time taken does not depend on which key, if any, matched.
            if compare_digest(presented, key.digest):
                found = key
        if scheme.lower() != 'bearer':
            # e.g. `curl -u name:key`: say what to send instead of calling a right key wrong.
            raise _unauthorized(
                'Authorization must use the Bearer scheme (Basic is not accepted): '
                'send the key as Authorization: Bearer <key>.'
            )
        if not token:
            raise _unauthorized('The API key is missing: send it as Authorization: Bearer <key>.')
        if found is None and looks_like_jwt(token):
            if self._tokens is None:
                raise _invalid_token(InvalidToken('the token names an unknown issuer'))
            try:
                return self._tokens.verify(token)
            except InvalidToken as refused:
                raise _invalid_token(refused) from None
        if found is None:
            raise _unauthorized('The API key is not valid.', error='invalid_token')
        return found
