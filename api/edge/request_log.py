"""The request log: an id per request, the upstream connection events it caused, one JSON line."""
from __future__ import annotations

import logging
import re
import time
import uuid

from api.upstream.connections import start_accounting, stop_accounting

log = logging.getLogger('couchgate.request')
_REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')


class RequestAccounting:
    """Gives each request an id and logs the upstream connection events it caused, and its key's name."""

    def process_request(self, req, resp):
        incoming = req.get_header('X-Request-ID')
        well_formed = incoming and _REQUEST_ID.fullmatch(incoming)
        req.context.request_id = incoming if well_formed else uuid.uuid4().hex
        req.context.started = time.perf_counter()
        req.context.upstream, req.context.upstream_token = start_accounting()

    def process_response(self, req, resp, resource, req_succeeded):
        events = req.context.upstream
        stop_accounting(req.context.upstream_token)
        resp.set_header('X-Request-ID', req.context.request_id)
        resp.set_header('Server-Timing', (
            f'cloudant;dur={events.upstream_ms};desc="requests={events.requests} new={events.new} '
            f'reused={events.reused} discarded={events.discarded}"'))
        log.info('request', extra={'fields': {
            'request_id': req.context.request_id,
            'method': req.method,
            'path': req.path,
            'status': resp.status_code,
            'key_name': getattr(req.context, 'key_name', None),  # which API key, never the key itself
            'duration_ms': round((time.perf_counter() - req.context.started) * 1000, 1),
            **events.log_fields(),
        }})
