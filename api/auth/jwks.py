"""Key sets and discovery documents read into keys: what the fetcher brings, checked (no I/O here)."""

from __future__ import annotations

import re
from typing import Protocol

from jwt import PyJWK, PyJWKError

from api.config.issuers import Issuer, trusted_url

_MAX_AGE = re.compile(r'(?:^|[,\s])max-age\s*=\s*"?(\d+)"?', re.IGNORECASE)
# Signing keys only: an `oct` key would be an HMAC secret, never an issuer's public key.
_KEY_TYPES = frozenset({'RSA', 'EC', 'OKP'})


class KeyFetch(Protocol):
    """GETs a JSON document: its body and the max-age of its Cache-Control (None if none)."""

    def get_json(self, url: str) -> tuple[object, float | None]: ...


class KeySetError(Exception):
    """A discovery document or key set that cannot be used; the message names what, never a key."""


def max_age(cache_control: str | None) -> float | None:
    """The max-age of a Cache-Control header, in seconds; None without one."""
    match = _MAX_AGE.search(cache_control or '')
    return None if match is None else float(match.group(1))


def discover(fetch: KeyFetch, issuer: Issuer) -> str:
    """The jwks_uri of an issuer's discovery document, whose `issuer` must be the issuer's own."""
    document, _ = fetch.get_json(issuer.discovery_url)
    if not isinstance(document, dict) or document.get('issuer') != issuer.issuer:
        raise KeySetError('the discovery document names another issuer')
    jwks_uri = document.get('jwks_uri')
    if not trusted_url(jwks_uri):
        raise KeySetError('the discovery document has no https jwks_uri')
    assert isinstance(jwks_uri, str)
    return jwks_uri


def parse_key_set(document: object) -> dict[str, PyJWK]:
    """The signing keys of a JWKS by `kid` (a key without one under ""); unusable keys are left out."""
    if not isinstance(document, dict) or not isinstance(document.get('keys'), list):
        raise KeySetError('the key set is not a JSON object with "keys"')
    keys: dict[str, PyJWK] = {}
    for data in document['keys']:
        if not isinstance(data, dict) or data.get('kty') not in _KEY_TYPES or data.get('use', 'sig') != 'sig':
            continue
        if 'd' in data:  # a private key published by mistake: not something to trust
            continue
        try:
            key = PyJWK(data)
        except (PyJWKError, ValueError, TypeError):
            continue
        kid = data.get('kid')
        keys[kid if isinstance(kid, str) else ''] = key
    if not keys:
        raise KeySetError('the key set holds no usable signing key')
    return keys
