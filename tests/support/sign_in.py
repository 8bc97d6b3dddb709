"""The sign-in tests' app: the real one trusting a real local issuer (tests/support/oidc_issuer.py)."""

from __future__ import annotations

import json

from tests.support.oidc_issuer import OidcIssuer


def signed_in(token: str) -> dict:
    """The Authorization header of a token."""
    return {'Authorization': f'Bearer {token}'}


def auth_issuers(issuer: OidcIssuer, **members) -> str:
    """AUTH_ISSUERS trusting `issuer` alone, its users in u:{sub}: unless `members` say otherwise."""
    return json.dumps([issuer.config(**dict({'id_prefix': 'u:{sub}:'}, **members))])
