"""The capacity guard's RateLimit headers on every answer whose upstream calls it admitted."""

from __future__ import annotations

from api.capacity.rate_limit_headers import rate_limit_headers


class RateLimitHeaders:
    """Adds RateLimit-Policy and RateLimit for the classes and quota that applied to the request."""

    def process_response(self, req, resp, resource, req_succeeded):
        for name, value in rate_limit_headers(req.context.upstream_record.rate_limits).items():
            resp.set_header(name, value)
