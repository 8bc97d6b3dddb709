"""The database allowlist (CLOUDANT_DATABASES) and a key's `databases`, checked before any upstream call."""

from __future__ import annotations

from api.errors import Problem


class AllowedDatabases:
    """Only databases on the allowlist, and on the key's list if it has one, are reachable.

    Others are 404 before any upstream call, the same 404 whether the database exists or not.
    """

    def __init__(self, databases: tuple[str, ...]) -> None:
        self._databases = frozenset(databases)

    def process_resource(self, req, resp, resource, params):
        db = params.get('db')
        if db is None:
            return
        key = req.context.key
        if db not in self._databases or (
            key is not None and key.databases is not None and db not in key.databases
        ):
            raise Problem(404, 'unknown-database', 'No such database.')
