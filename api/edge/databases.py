"""The database allowlist: CLOUDANT_DATABASES, checked before any upstream call."""

from __future__ import annotations

from api.errors import Problem


class AllowedDatabases:
    """Only databases on the allowlist are reachable; others are 404 before any upstream call."""

    def __init__(self, databases: tuple[str, ...]) -> None:
        self._databases = frozenset(databases)

    def process_resource(self, req, resp, resource, params):
        db = params.get('db')
        if db is not None and db not in self._databases:
            raise Problem(404, 'unknown-database', 'No such database.')
