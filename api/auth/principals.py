"""A signed-in user as a key: the issuer's rights, narrowed by the token's scopes, in a prefix per user."""

from __future__ import annotations

import dataclasses
import json

from api.config.issuers import UNENCODED, Issuer
from api.config.keys import ApiKey


class InvalidToken(Exception):
    """A token refused; `description` names the failed check and never quotes the token."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclasses.dataclass(frozen=True)
class Principal(ApiKey):
    """A verified token acting exactly as a key: `name` is the issuer's, `subject` the user's `sub`."""

    subject: str = ''
    issuer: str = ''

    @property
    def owner(self) -> str:
        """Whose quota windows and Idempotency-Key records these are: one per (iss, sub)."""
        return json.dumps([self.issuer, self.subject])


def encode_subject(sub: str) -> str:
    """`sub`, every character but A-Z a-z 0-9 - _ . as UTF-8 %XX: `auth0|abc` → `auth0%7Cabc`."""
    return ''.join(
        c if c in UNENCODED else ''.join(f'%{b:02X}' for b in c.encode('utf-8', 'surrogatepass')) for c in sub
    )


def granted_scopes(issuer: Issuer, claims: dict) -> frozenset[str]:
    """The issuer's scopes, narrowed by the token's `scope` (space-separated) or `scp` (list) claim."""
    if 'scope' in claims:
        asked = claims['scope']
    elif 'scp' in claims:
        asked = claims['scp']
    else:
        return issuer.scopes
    # Entra ID writes `scp` space-separated; Okta and others as a list.
    if isinstance(asked, str):
        names = asked.split()
    elif isinstance(asked, list) and all(isinstance(s, str) for s in asked):
        names = asked
    else:
        raise InvalidToken('the scope claim is neither a string nor a list of strings')
    return issuer.scopes & frozenset(names)


def principal_for(issuer: Issuer, claims: dict) -> Principal:
    """The principal of a verified token's claims."""
    sub = claims['sub']
    if not isinstance(sub, str) or not sub:
        raise InvalidToken('the sub claim is not a non-empty string')
    prefix = None if issuer.id_prefix is None else issuer.id_prefix.replace('{sub}', encode_subject(sub))
    return Principal(
        name=issuer.name,
        digest=b'',
        scopes=granted_scopes(issuer, claims),
        databases=issuer.databases,
        id_prefix=prefix,
        quota=issuer.quota,
        subject=sub,
        issuer=issuer.issuer,
    )
