"""The request log: an id per request, its upstream record in `Server-Timing`, one JSON line."""
from __future__ import annotations

import logging
import re
import time
import uuid

from api.upstream.connections import start_recording, stop_recording

log = logging.getLogger('couchgate.request')
_REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')


class RequestLog:
    """Gives each request an id, and logs what it cost upstream and which key it used."""

    def process_request(self, req, resp):
        incoming = req.get_header('X-Request-ID')
        well_formed = incoming and _REQUEST_ID.fullmatch(incoming)
        req.context.request_id = incoming if well_formed else uuid.uuid4().hex
        req.context.started = time.perf_counter()
        req.context.upstream_record, req.context.recording_token = start_recording()

    def process_response(self, req, resp, resource, req_succeeded):
        record = req.context.upstream_record
        stop_recording(req.context.recording_token)
        resp.set_header('X-Request-ID', req.context.request_id)
        resp.set_header('Server-Timing', (
            f'cloudant;dur={record.upstream_ms};desc="requests={record.requests} new={record.new} '
            f'reused={record.reused} discarded={record.discarded}"'))
        log.info('request', extra={'fields': {
            'request_id': req.context.request_id,
            'method': req.method,
            'path': req.path,
            'status': resp.status_code,
            'key_name': getattr(req.context, 'key_name', None),  # which API key, never the key itself
            'duration_ms': round((time.perf_counter() - req.context.started) * 1000, 1),
            **record.log_fields(),
        }})
