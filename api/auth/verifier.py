"""A bearer token verified as a JWT (RFC 7519, with RFC 8725's checks) against the issuer its `iss` names."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Protocol

import jwt
from jwt import PyJWK

from api.auth.principals import InvalidToken, Principal, principal_for
from api.config.issuers import Issuer

MAX_TOKEN_BYTES = 8 * 1024
# Three base64url segments; the third may be empty (`alg: none`), to be refused as a token, not a key.
_JWT = re.compile(r'[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*')
_REQUIRED = ['iss', 'sub', 'aud', 'exp']
# PyJWT's refusals, in the words of the error_description; a subclass comes before its base.
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, 'the token has expired'),
    (jwt.ImmatureSignatureError, 'the token is not yet valid'),
    (jwt.InvalidAudienceError, 'the token has the wrong audience'),
    (jwt.InvalidIssuerError, 'the token names an unknown issuer'),
    (jwt.InvalidSignatureError, 'the token has a bad signature'),
    (jwt.InvalidAlgorithmError, 'alg not allowed for this issuer'),
    (jwt.InvalidIssuedAtError, "the token's iat is not a number"),
    (jwt.InvalidKeyError, "the token's key does not fit its algorithm"),
    (jwt.DecodeError, 'the token is malformed'),
)


def looks_like_jwt(bearer: str) -> bool:
    """Whether a bearer is three base64url segments (a JWT); anything else is an API key."""
    return _JWT.fullmatch(bearer) is not None


class KeySource(Protocol):
    """An issuer's signing keys (api/auth/key_sets.py); None for a `kid` it does not know."""

    def key(self, issuer: Issuer, kid: str | None) -> PyJWK | None: ...


class TokenVerifier:
    """Verifies a token's signature, issuer, audience and times, and returns its principal."""

    def __init__(self, issuers: tuple[Issuer, ...], keys: KeySource) -> None:
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        self._keys = keys

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; InvalidToken naming the failed check otherwise."""
        if len(token.encode('utf-8', 'surrogatepass')) > MAX_TOKEN_BYTES:
            raise InvalidToken('the token is too large (over 8 KiB)')
        header = _header(token)
        # RFC 7515 4.1.11: an extension we do not understand must not be ignored.
        if 'crit' in header:
            raise InvalidToken('the token has a crit header')
        try:
            unverified = jwt.decode(token, options={'verify_signature': False})
        except jwt.PyJWTError:
            raise InvalidToken('the token is malformed') from None
        iss = unverified.get('iss')
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise InvalidToken('the token names an unknown issuer')
        algorithm = header.get('alg')
        # Before any key is looked up: `none` and HS* (the public key as an HMAC secret) end here.
        if algorithm not in issuer.algorithms:
            raise InvalidToken('alg not allowed for this issuer')
        kid = header.get('kid')
        # jku, jwk, x5u and x5c are never read: a key comes from the issuer's own set only.
        key = self._keys.key(issuer, kid if isinstance(kid, str) else None)
        if key is None:
            raise InvalidToken('the token is signed with an unknown key')
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=list(issuer.audience),
                issuer=issuer.issuer,
                leeway=issuer.leeway,
                options={'require': _REQUIRED},
            )
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f'the token lacks the {error.claim} claim') from None
        except jwt.PyJWTError as error:
            raise InvalidToken(_description(error)) from None
        return principal_for(issuer, claims)


def _header(token: str) -> dict:
    # Read here, not by PyJWT, so that a `crit` header is refused as such rather than as malformed.
    segment = token.partition('.')[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + '=' * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidToken('the token is malformed') from None
    if not isinstance(header, dict):
        raise InvalidToken('the token is malformed')
    return header


def _description(error: Exception) -> str:
    for kind, description in _REFUSALS:
        if isinstance(error, kind):
            return description
    return 'the token is not valid'
