"""Response headers every answer carries: no sniffing, no framing, caching decided per route."""

from __future__ import annotations

import falcon

from api.edge.methods import CACHEABLE_METHODS

# JSON needs no sources at all; a page that does (the docs page) sets its own policy.
_API_POLICY = "default-src 'none'; frame-ancestors 'none'"
EXPOSED_HEADERS = ('ETag', 'Location', 'Link', 'Retry-After', 'Server-Timing', 'X-Request-ID')


class SecurityHeaders:
    """nosniff, a Content-Security-Policy, and Cache-Control: a resource's `cache_control` for
    anonymous successful reads, `no-store` for anything authenticated, failed or written."""

    def __init__(self, *, vary_on_origin: bool = False) -> None:
        self._vary_on_origin = vary_on_origin

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header('X-Content-Type-Options', 'nosniff')
        resp.set_header('Referrer-Policy', 'no-referrer')
        if resp.get_header('Content-Security-Policy') is None:
            resp.set_header('Content-Security-Policy', _API_POLICY)
        resp.set_header('Cache-Control', self._cache_control(req, resp, resource))
        if self._vary_on_origin:
            # The CORS answer depends on Origin: a shared cache must not reuse it for another origin.
            resp.append_header('Vary', 'Origin')

    @staticmethod
    def _cache_control(req, resp, resource) -> str:
        authenticated = req.context.key_name is not None or req.auth is not None
        failed = resp.status_code >= 300 and resp.status_code != 304
        if authenticated or failed or req.method not in CACHEABLE_METHODS:
            return 'no-store'
        return getattr(resource, 'cache_control', 'no-store')


def cors(origins: tuple[str, ...]) -> falcon.CORSMiddleware | None:
    """Falcon's CORS middleware for the configured origins; None (same-origin only) when there are none."""
    if not origins:
        return None
    allow = '*' if origins == ('*',) else list(origins)
    # Keys travel in Authorization, never in cookies: no Access-Control-Allow-Credentials.
    return falcon.CORSMiddleware(allow_origins=allow, expose_headers=list(EXPOSED_HEADERS))
