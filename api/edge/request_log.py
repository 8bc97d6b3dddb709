"""The request log: an id per request, its upstream record in `Server-Timing`, one JSON line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from api.edge.context import Request
from api.upstream.connections import start_recording, stop_recording

log = logging.getLogger('couchgate.request')
_REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')


def request_id_for(incoming: str | None) -> str:
    """The client's X-Request-ID if it is well-formed, else a new one (the worker's refusals use it too)."""
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestLog:
    """Gives each request an id, and logs what it cost upstream and which key it used."""

    def process_request(self, req: Request, resp) -> None:
        req.context.request_id = request_id_for(req.get_header('X-Request-ID'))
        _, req.context.recording_token = start_recording(req.context.upstream_record)

    def process_response(self, req: Request, resp, resource, req_succeeded) -> None:
        context = req.context
        record = context.upstream_record
        if context.recording_token is not None:
            stop_recording(context.recording_token)
            context.recording_token = None
        resp.set_header('X-Request-ID', context.request_id)
        resp.set_header(
            'Server-Timing',
            (
                f'cloudant;dur={record.upstream_ms};desc="requests={record.requests} new={record.new} '
                f'reused={record.reused} discarded={record.discarded}"'
            ),
        )
        if log.isEnabledFor(logging.INFO):
            fields = {
                'request_id': context.request_id,
                'method': req.method,
                'path': req.path,
                'status': resp.status_code,
                'key_name': context.key_name,
                # Only for a signed-in user; the token itself is never logged.
                **({'subject': context.subject} if context.subject is not None else {}),
                'duration_ms': round((time.perf_counter() - context.started) * 1000, 1),
                **record.log_fields(),
            }
            # log.info(...) but for the caller's file, line and function, which no line prints:
            # logging walks the stack for them (findCaller: ~8 µs a line under the benchmark's load).
            log.handle(
                log.makeRecord(log.name, logging.INFO, '', 0, 'request', (), None, extra={'fields': fields})
            )
