"""gunicorn's access line as JSON, joined to the app's request line by request_id."""

from __future__ import annotations

import os

from gunicorn import glogging

from api.observability.logs import JsonFormatter


class JsonAccessLogger(glogging.Logger):
    """gunicorn's logger with an access line in JSON, joined to the app's line by request_id."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.access_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        status = str(atoms['s'])
        self.access_log.info(
            'access',
            extra={
                'fields': {
                    # The app sets X-Request-ID on every response; '-' means the app never answered.
                    'request_id': atoms.get('{x-request-id}o', '-'),
                    'method': atoms['m'],
                    'path': atoms['U'],
                    'status': int(status) if status.isdigit() else status,
                    'bytes': atoms['B'] or 0,
                    'duration_ms': round(request_time.total_seconds() * 1000, 1),
                    'pid': os.getpid(),
                    'forwarded_for': atoms.get('{x-forwarded-for}i', atoms['h']),
                }
            },
        )
