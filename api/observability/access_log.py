"""gunicorn's access line as JSON, joined to the app's request line by request_id."""

from __future__ import annotations

import logging
import os

from gunicorn import glogging

from api.observability.logs import JsonFormatter

# This process's id, read again in each forked worker: os.getpid() is a syscall, once per line.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


class JsonAccessLogger(glogging.Logger):
    """gunicorn's logger with an access line in JSON, joined to the app's line by request_id."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.access_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        # The few values the line holds, read directly: gunicorn's atoms() formats a timestamp
        # and copies every header and environ key per request (seen in the benchmark's profile).
        wsgi = environ  # the request's WSGI environ, not the process's
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        status = str(status)
        log = self.access_log
        if not log.isEnabledFor(logging.INFO):
            return
        fields = {
            # The app sets X-Request-ID on every response; '-' means the app never answered.
            'request_id': _last(resp.headers, 'x-request-id', '-'),
            'method': wsgi.get('REQUEST_METHOD'),
            'path': wsgi.get('PATH_INFO'),
            'status': int(status) if status.isdigit() else status,
            'bytes': getattr(resp, 'sent', None) or 0,
            'duration_ms': round(request_time.total_seconds() * 1000, 1),
            'pid': _pid,
            'forwarded_for': _last(
                getattr(req, 'headers', ()), 'x-forwarded-for', wsgi.get('REMOTE_ADDR', '-')
            ),
        }
        # log.info(...) but for the caller's file, line and function, which no line prints (logging
        # walks the stack for them), as api/edge/request_log.py does for the app's line.
        log.handle(
            log.makeRecord(log.name, logging.INFO, '', 0, 'access', (), None, extra={'fields': fields})
        )


def _last(headers, name: str, default):
    """The last value of header `name` (as gunicorn's atoms keep it), else `default`."""
    found = default
    for key, value in headers.items() if hasattr(headers, 'items') else headers:
        if len(key) == len(name) and key.lower() == name:
            found = value
    return found
