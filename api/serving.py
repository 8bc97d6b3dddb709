"""gunicorn's side of couchgate: the JSON access log and what the hooks in gunicorn.conf.py do."""
from __future__ import annotations

import logging
import os

from gunicorn import glogging
from injector import Injector

from api import pool
from api.connection_events import start_accounting, stop_accounting
from api.config import Settings
from api.couch import Couch
from api.errors import Problem
from api.logs import JsonFormatter

log = logging.getLogger('couchgate.server')


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
        self.access_log.info('access', extra={'fields': {
            # The app sets X-Request-ID on every response; '-' means the app never answered.
            'request_id': atoms.get('{x-request-id}o', '-'),
            'method': atoms['m'],
            'path': atoms['U'],
            'status': int(status) if status.isdigit() else status,
            'bytes': atoms['B'] or 0,
            'duration_ms': round(request_time.total_seconds() * 1000, 1),
            'pid': os.getpid(),
            'forwarded_for': atoms.get('{x-forwarded-for}i', atoms['h']),
        }})


def pool_warning(settings: Settings) -> str | None:
    """Why the configured pool size was not used, if it was below the thread count."""
    requested = settings.pool_maxsize_requested
    if requested is None or requested >= settings.threads:
        return None
    return (f'CLOUDANT_POOL_MAXSIZE={requested} is below GUNICORN_THREADS={settings.threads}: '
            f'threads would open and discard extra connections; using {settings.pool_maxsize}')


def check_upstream(injector: Injector) -> bool:
    """One readiness request through the app's own client, logged with its connection counts."""
    fields = {'pid': os.getpid(), 'status': 200}
    events, token = start_accounting()
    try:
        injector.get(Couch).ping()
    # Logged, never fatal: the upstream may come back, and /readyz says when it does.
    except Problem as problem:
        fields.update(status=problem.status_code, problem=problem.problem_type)
    except Exception as error:  # e.g. an IAM token request; its message may quote credentials
        fields.update(status=503, problem=type(error).__name__)
    finally:
        stop_accounting(token)
    fields.update(events.log_fields())
    ready = fields['status'] == 200
    log.log(logging.INFO if ready else logging.WARNING,
            'upstream ready' if ready else 'upstream not ready', extra={'fields': fields})
    return ready


def reset_pools_after_fork() -> None:
    """In a new worker: never use a connection the master opened (preload_app)."""
    adapters, left_behind = pool.reset_after_fork()
    if adapters:  # without preload_app the app, and its pool, are built after the fork
        log.info('pool reset after fork', extra={'fields': {
            'pid': os.getpid(), 'sessions': adapters, 'inherited_connections': left_behind}})


def close_pools() -> None:
    """In an exiting worker: close its upstream connections instead of leaving them to the kernel."""
    adapters, closed = pool.close_all()
    log.info('pool closed', extra={'fields': {
        'pid': os.getpid(), 'sessions': adapters, 'closed_connections': closed}})
