"""The OpenAPI 3.1 description of every route; tests hold it and the router to each other."""

from __future__ import annotations

import re

from api.config import Settings
from api.edge.methods import READ_METHODS
from api.edge.openapi.parts import DOC_ID_PATTERN, database, param, ref
from api.edge.openapi.paths import paths as describe_paths
from api.edge.openapi.schemas import schemas
from api.edge.openapi.sync import sync_paths
from api.edge.openapi.views import Views, view_path, view_schemas

__all__ = ['DOC_ID_PATTERN', 'document']


def document(
    settings: Settings,
    public: frozenset[str],
    scopes: dict[str, dict[str, str]] | None = None,
    views: Views | None = None,
    principal_only: frozenset[str] = frozenset(),
) -> dict:
    """The OpenAPI document for an app built from `settings` (its databases, its key policy);
    `public` holds the route templates whose resources never need a key, `principal_only` those that
    always do (reads too), `scopes` what scope each
    method of a route template needs (api/edge/keys.py: the resources' `scopes`), `views` the views
    of design/ by database."""
    paths = describe_paths(settings)
    db = param('db', 'path', ref('Database'), 'A database on the allowlist (CLOUDANT_DATABASES)')
    paths['/v1/{db}/views/{ddoc}/{view}'] = view_path(db)
    paths.update(sync_paths(db))
    _secure(paths, settings, public, scopes or {}, principal_only)
    return {
        'openapi': '3.1.0',
        'info': {
            'title': 'couchgate',
            'version': '1',
            'description': 'A REST API over Cloudant/CouchDB. Errors are application/problem+json '
            '(RFC 9457); GET the `type` of a problem, /problems/{name}, for what it means and what to '
            'do. Document ids go in the path as one percent-encoded segment ("/" as %2F). Writes '
            'name the rev they replace: If-Match with the ETag read.',
        },
        # Relative: the document describes whichever host serves it.
        'servers': [{'url': '/', 'description': 'The server that serves this document'}],
        'paths': paths,
        'components': {
            'schemas': dict(schemas(), **view_schemas(views or {}), Database=database(settings)),
            'securitySchemes': {
                'apiKey': {
                    'type': 'http',
                    'scheme': 'bearer',
                    'description': 'An API key from API_KEYS. Each operation names the scope it needs '
                    '(read, query, export, write); a key without it gets 403 insufficient-scope.',
                },
                **{
                    oidc_scheme(issuer.name): {
                        'type': 'openIdConnect',
                        'openIdConnectUrl': issuer.discovery_url,
                        'description': f'A token (JWT) of the issuer "{issuer.name}" (AUTH_ISSUERS), sent '
                        'as Authorization: Bearer <token>; its user sees only their own documents when the '
                        'issuer has an id_prefix.',
                    }
                    for issuer in settings.auth_issuers
                },
            },
        },
    }


def _secure(
    paths: dict,
    settings: Settings,
    public: frozenset[str],
    scopes: dict[str, dict[str, str]],
    principal_only: frozenset[str],
) -> None:
    """Each operation's security, by the rules the key check applies (api/edge/keys.py)."""
    public_paths = {_template(template) for template in public}
    keyed_paths = {_template(template) for template in principal_only}
    scopes_by_path = {_template(template): methods for template, methods in scopes.items()}
    for path, item in paths.items():
        for method, operation in item.items():
            if method == 'parameters':
                continue
            verb = method.upper()
            scope = scopes_by_path.get(path, {}).get(verb, 'read' if verb in READ_METHODS else 'write')
            key: list[dict[str, list[str]]] = [
                {'apiKey': [scope]},
                *({oidc_scheme(issuer.name): [scope]} for issuer in settings.auth_issuers),
            ]
            anonymous = scope == 'read' and not settings.require_key_for_reads and path not in keyed_paths
            operation['security'] = [] if path in public_paths else [{}, *key] if anonymous else key


def oidc_scheme(name: str) -> str:
    """The security scheme of the issuer `name` (AUTH_ISSUERS)."""
    return f'oidc.{name}'


def _template(template: str) -> str:
    return re.sub(r'\{(\w+):\w+\}', r'{\1}', template)
