"""AUTH_ISSUERS: the OpenID Connect issuers whose tokens are accepted, each with what its users may do."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from api.config.capacity import PerClass, quota_member
from api.config.keys import SCOPES
from api.config.values import ConfigError, json_array, named_object

# Asymmetric only: with HS* the issuer's public key would be the secret (RFC 8725 3.1), and `none`
# is no signature at all.
ALGORITHMS = ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA')
# What the `{sub}` encoding leaves as it is; every other character becomes %XX.
UNENCODED = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.')
_MEMBERS = frozenset(
    {
        'name',
        'issuer',
        'jwks_uri',
        'audience',
        'algorithms',
        'scopes',
        'databases',
        'id_prefix',
        'quota',
        'leeway',
    }
)
_LOCAL_HOSTS = ('localhost', '127.0.0.1')


@dataclasses.dataclass(frozen=True)
class Issuer:
    """One trusted issuer: its exact `iss`, the audiences it must name, and the most its users get."""

    name: str
    issuer: str
    audience: tuple[str, ...]
    algorithms: tuple[str, ...] = ('RS256',)
    scopes: frozenset[str] = frozenset(SCOPES)
    databases: frozenset[str] | None = None
    id_prefix: str | None = None  # a template holding {sub} once
    quota: PerClass | None = None
    leeway: float = 60.0
    jwks_uri: str | None = None  # None: read from the discovery document

    @property
    def discovery_url(self) -> str:
        # OpenID Connect Discovery 1.0, 4: the issuer without its trailing slash, then the path.
        return self.issuer.rstrip('/') + '/.well-known/openid-configuration'


def trusted_url(url: object) -> bool:
    """https://, or http:// on localhost and 127.0.0.1 only (local development and tests)."""
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    return parts.scheme == 'https' or (parts.scheme == 'http' and host in _LOCAL_HOSTS)


def auth_issuers(raw: str, databases: tuple[str, ...]) -> tuple[Issuer, ...]:
    """AUTH_ISSUERS as a JSON array of issuer objects; each message names the issuer."""
    if not raw.strip():
        return ()
    entries = json_array(raw, 'AUTH_ISSUERS', 'issuer')
    issuers = tuple(_issuer(entry, number, databases) for number, entry in enumerate(entries, start=1))
    for seen, member in ((set(), 'name'), (set(), 'issuer')):
        for number, issuer in enumerate(issuers, start=1):
            value = getattr(issuer, member)
            if value in seen:
                raise ConfigError(
                    f'AUTH_ISSUERS: issuer {number} ({issuer.name}) repeats the {member} {value!r}'
                )
            seen.add(value)
    return issuers


def _issuer(entry: object, number: int, databases: tuple[str, ...]) -> Issuer:
    entry, which = named_object(entry, number, 'AUTH_ISSUERS', 'issuer', _MEMBERS)
    name = entry['name']

    def refuse(message: str) -> ConfigError:
        return ConfigError(f'AUTH_ISSUERS: {which} {message}')

    if not trusted_url(entry.get('issuer')):
        raise refuse('needs an "issuer" URL: https://, or http:// on localhost or 127.0.0.1 only')
    if 'jwks_uri' in entry and not trusted_url(entry['jwks_uri']):
        raise refuse('has a "jwks_uri" that is not https:// (or http:// on localhost or 127.0.0.1)')
    audience = entry.get('audience')
    audiences = [audience] if isinstance(audience, str) else audience
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(a, str) and a for a in audiences)
    ):
        raise refuse('needs an "audience": a string or a list of strings')
    algorithms = entry.get('algorithms', ['RS256'])
    if not isinstance(algorithms, list) or not algorithms or not all(isinstance(a, str) for a in algorithms):
        raise refuse(f'has "algorithms" that are not a list of {", ".join(ALGORITHMS)}')
    for algorithm in algorithms:
        if algorithm.lower() == 'none' or algorithm.upper().startswith('HS'):
            raise refuse(
                f'allows the algorithm "{algorithm}": only asymmetric ones ({", ".join(ALGORITHMS)})'
            )
        if algorithm not in ALGORITHMS:
            raise refuse(f'has an unknown algorithm "{algorithm}": use {", ".join(ALGORITHMS)}')
    # Without "scopes", no cap of the issuer's own: a token's `scope`/`scp` claim decides alone.
    scopes = entry.get('scopes', list(SCOPES))
    if not isinstance(scopes, list) or not scopes or not all(s in SCOPES for s in scopes):
        raise refuse(f'needs "scopes": a list of {", ".join(SCOPES)}')
    allowed = entry.get('databases')
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed or not all(isinstance(d, str) for d in allowed):
            raise refuse('has "databases" that are not a list of database names')
        outside = [d for d in allowed if d not in databases]
        if outside:
            raise refuse(f'names a database outside CLOUDANT_DATABASES: {outside[0]!r}')
    template = entry.get('id_prefix')
    if template is not None:
        _check_template(template, refuse)
    leeway = entry.get('leeway', 60)
    if type(leeway) not in (int, float) or not 0 <= leeway <= 600:
        raise refuse('has a "leeway" that is not a number of seconds from 0 to 600')
    quota = entry.get('quota')
    return Issuer(
        name=name,
        issuer=entry['issuer'],
        audience=tuple(audiences),
        algorithms=tuple(algorithms),
        scopes=frozenset(scopes),
        databases=None if allowed is None else frozenset(allowed),
        id_prefix=template,
        quota=None if quota is None else quota_member(quota, which, 'AUTH_ISSUERS'),
        leeway=float(leeway),
        jwks_uri=entry.get('jwks_uri'),
    )


def _check_template(template: object, refuse) -> None:
    if not isinstance(template, str) or template.count('{sub}') != 1:
        raise refuse('has an "id_prefix" without "{sub}" (once), e.g. "u:{sub}:"')
    # A `sub` may start with "_" (as "_design/" does): the fixed text comes first.
    if not (template.isprintable() and len(template) <= 256) or template.startswith(('_', '{sub}')):
        raise refuse(
            'has an "id_prefix" that is not up to 256 printable characters starting with fixed text '
            'other than "_", e.g. "u:{sub}:"'
        )
    # Ending in a character the encoding never writes, no user's prefix is a prefix of another's.
    if template.endswith('{sub}') or template[-1] in UNENCODED or template[-1] == '%':
        raise refuse(
            'has an "id_prefix" that does not end with a character the {sub} encoding never writes '
            '(not A-Z a-z 0-9 - _ . %), e.g. "u:{sub}:"'
        )
