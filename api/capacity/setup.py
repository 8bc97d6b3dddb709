"""The capacity guard of one worker, from the settings: shared through Redis, or split per worker."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from api.capacity.budget import Budget
from api.capacity.guard import CapacityGuard, CapacityListener
from api.capacity.shared_windows import SharedWindows
from api.config import Settings

log = logging.getLogger('couchgate.capacity')


def capacity_guard(settings: Settings, listener: CapacityListener) -> CapacityGuard | None:
    """None when CLOUDANT_CAPACITY is unset (or `auto` found none); no network I/O here."""
    capacity = settings.capacity
    if capacity is None:
        return None
    parts = urlsplit(settings.url)
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    shared = SharedWindows(settings.redis_url) if settings.redis_url else None
    workers = settings.workers
    if shared is not None:
        log.info(
            'capacity guard: %s per second for the instance, shared through Redis by every worker',
            capacity.describe(),
        )
    else:
        log.warning(
            'capacity guard without REDIS_URL: this worker takes capacity ÷ WEB_CONCURRENCY (%d), '
            '%s per second',
            workers,
            capacity.split(workers).describe(),
        )
    listener.capacity_shared(shared is not None)
    return CapacityGuard(
        capacity,
        Budget(shared, listener, window=1 + settings.capacity_margin),
        upstream=(parts.hostname or '', port),
        # Without Redis each worker always counts alone; with it, only while Redis is away.
        workers=workers,
        max_wait=settings.queue_max_wait,
        # A quarter of the threads at most wait for one class: the others serve the classes with room.
        max_waiting=max(1, settings.threads // 4),
        listener=listener,
    )
