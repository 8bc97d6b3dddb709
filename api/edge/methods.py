"""HTTP method sets, named once for the whole edge."""

from __future__ import annotations

# Change nothing: open to anonymous clients unless API_REQUIRE_KEY_FOR_READS (OPTIONS: CORS preflight).
READ_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})
# A shared cache may keep their answers (per the resource's cache_control).
CACHEABLE_METHODS = frozenset({'GET', 'HEAD'})
# The responders that read a request body (no route has PATCH).
BODY_METHODS = frozenset({'PUT', 'POST'})
