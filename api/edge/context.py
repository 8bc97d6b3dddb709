"""The typed request context: what the middleware learns about a request, in one place."""

from __future__ import annotations

import contextvars
import time

import falcon

from api.config.keys import ApiKey
from api.upstream.connections import UpstreamRecord


class RequestContext:
    """Set by the middleware, read by the others, the resources and the error serializer."""

    def __init__(self) -> None:
        # From the request's construction, so that every middleware's work is timed.
        self.started = time.perf_counter()
        self.request_id: str | None = None  # RequestLog sets it first thing
        self.key_name: str | None = None  # which API key, never the key itself
        self.key: ApiKey | None = None  # its scopes, databases and id prefix (a digest, never the key)
        # Whose Idempotency-Key records and quota windows: the key's name, or a token's iss and sub.
        self.owner: str | None = None
        self.subject: str | None = None  # a signed-in user's `sub` (the log line's), never on /metrics
        self.upstream_record = UpstreamRecord()
        self.recording_token: contextvars.Token | None = None


class Request(falcon.Request):
    """Falcon's request with a RequestContext (falcon.App(request_type=Request))."""

    context_type = RequestContext
    context: RequestContext  # type: ignore[assignment]  # Falcon types it as its own Context
