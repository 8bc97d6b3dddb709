"""gunicorn settings for couchgate (Heroku and local): gthread workers sharing one pool each."""
import os
import sys

from api import metrics_dir
from api.config import ConfigError, Settings

try:
    _settings = Settings.from_env()
except ConfigError as e:  # one clear line, before any worker starts
    sys.exit(f'couchgate: configuration error: {e}')

worker_class = 'gthread'
workers = int(os.environ.get('WEB_CONCURRENCY') or 2)
threads = _settings.threads
bind = [f"[::]:{os.environ.get('PORT', '8000')}"]
# Below Heroku's 30 s router and shutdown limits; keep-alive above its router's 90 s idle.
timeout = 25
graceful_timeout = 20
keepalive = 95
# The app logs one JSON line per request; gunicorn's own access log would repeat it.
accesslog = None
errorlog = '-'
loglevel = _settings.log_level.lower()
# gunicorn 27 opens a control socket in ~/.gunicorn by default; a dyno has no use for it, and
# two local instances would fight over the path.
control_socket_disable = True


# Prometheus multiprocess mode (api/metrics_dir.py): the directory is ready before any worker
# imports prometheus_client; a dead worker's gauges go with it.
def on_starting(server):
    metrics_dir.prepare(_settings.metrics_dir)


def child_exit(server, worker):
    metrics_dir.worker_exited(worker.pid)


def on_exit(server):
    metrics_dir.cleanup()
