"""Liveness and readiness."""

from __future__ import annotations

from injector import inject

from api.upstream.couch import Couch


class Health:
    """Liveness: the process answers; no upstream call."""

    public = True

    def on_get(self, req, resp):
        resp.media = {'status': 'ok'}


class Readiness:
    """Readiness: the upstream database answers."""

    public = True

    @inject
    def __init__(self, couch: Couch) -> None:
        self._couch = couch

    def on_get(self, req, resp):
        self._couch.ping()
        resp.media = {'status': 'ready'}
