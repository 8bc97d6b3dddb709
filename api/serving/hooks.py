"""What the hooks in gunicorn.conf.py do: the pool warning, the master's upstream check, fresh pools
after fork(), closed pools at exit."""

from __future__ import annotations

import logging
import os

from api.config import Settings
from api.errors import Problem
from api.upstream import session as pool
from api.upstream.connections import start_recording, stop_recording
from api.upstream.couch import Couch

log = logging.getLogger('couchgate.server')


def pool_warning(settings: Settings) -> str | None:
    """Why the configured pool size was not used, if it was below the thread count."""
    requested = settings.pool_maxsize_requested
    if requested is None or requested >= settings.threads:
        return None
    return (
        f'CLOUDANT_POOL_MAXSIZE={requested} is below GUNICORN_THREADS={settings.threads}: '
        f'threads would open and discard extra connections; using {settings.pool_maxsize}'
    )


def check_upstream(couch: Couch) -> bool:
    """One readiness request through the app's own client, logged with its connection counts."""
    fields: dict[str, object] = {'pid': os.getpid(), 'status': 200}
    record, token = start_recording()
    try:
        couch.ping()
    # Logged, never fatal: the upstream may come back, and /readyz says when it does.
    except Problem as problem:
        fields.update(status=problem.status_code, problem=problem.problem_type)
    except Exception as error:  # e.g. an IAM token request; its message may quote credentials
        fields.update(status=503, problem=type(error).__name__)
    finally:
        stop_recording(token)
    fields.update(record.log_fields())
    ready = fields['status'] == 200
    log.log(
        logging.INFO if ready else logging.WARNING,
        'upstream ready' if ready else 'upstream not ready',
        extra={'fields': fields},
    )
    return ready


def reset_pools_after_fork() -> None:
    """In a new worker: never use a connection the master opened (preload_app)."""
    adapters, left_behind = pool.reset_after_fork()
    if adapters:  # without preload_app the app, and its pool, are built after the fork
        log.info(
            'pool reset after fork',
            extra={
                'fields': {'pid': os.getpid(), 'sessions': adapters, 'inherited_connections': left_behind}
            },
        )


def close_pools() -> None:
    """In an exiting worker: close its upstream connections instead of leaving them to the kernel."""
    adapters, closed = pool.close_all()
    log.info(
        'pool closed',
        extra={'fields': {'pid': os.getpid(), 'sessions': adapters, 'closed_connections': closed}},
    )
