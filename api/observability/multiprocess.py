"""prometheus_client's multiprocess directory, looked after by gunicorn's master (gunicorn.conf.py).

Deliberately imports nothing of prometheus_client at module level: the library picks its
multiprocess mode from PROMETHEUS_MULTIPROC_DIR when first imported, and workers inherit the
master's modules, so the master must not import it before prepare() has set the variable.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

_created: list[str] = []  # temporary directories this master made, removed at its exit


def prepare(configured: str | None) -> str:
    """Before any worker starts: create the directory (or empty it) and export it to the workers."""
    if configured:
        os.makedirs(configured, exist_ok=True)
        # Files of an earlier run would be added to this run's totals.
        for stale in glob.glob(os.path.join(configured, '*.db')):
            os.remove(stale)
        path = configured
    else:
        path = tempfile.mkdtemp(prefix='couchgate-metrics-')
        _created.append(path)
    # prometheus_client reads the variable itself, in each worker, at import.
    os.environ['PROMETHEUS_MULTIPROC_DIR'] = path
    return path


def worker_exited(pid: int) -> None:
    """Drop a dead worker's gauges; its counters stay, so totals never go down."""
    from prometheus_client import multiprocess  # only after prepare(): see the module docstring

    multiprocess.mark_process_dead(pid)


def cleanup() -> None:
    """At the master's exit: remove the temporary directory prepare() made, if any."""
    while _created:
        shutil.rmtree(_created.pop(), ignore_errors=True)
