"""Liveness and readiness."""

from __future__ import annotations

from injector import inject

from api.auth.key_sets import KeySets
from api.upstream.couch import Couch


class Health:
    """Liveness: the process answers; no upstream call."""

    public = True

    def on_get(self, req, resp):
        resp.media = {'status': 'ok'}


class Readiness:
    """Readiness: the upstream database answers; unreachable issuers are named, never a failure."""

    public = True

    @inject
    def __init__(self, couch: Couch, key_sets: KeySets) -> None:
        self._couch = couch
        self._key_sets = key_sets

    def on_get(self, req, resp):
        self._couch.ping()
        resp.media = {'status': 'ready'}
        # An issuer down fails only its own tokens (401): the API stays in rotation.
        issuers = self._key_sets.reachability()
        if issuers:
            resp.media['issuers'] = issuers
            resp.media['unreachable_issuers'] = sorted(n for n, s in issuers.items() if s == 'unreachable')
