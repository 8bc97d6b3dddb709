"""gunicorn settings for couchgate (Heroku and local): gthread workers sharing one pool each."""

import logging
import os

from api.bootstrap import resolve_capacity, settings_or_exit
from api.observability import multiprocess as metrics_dir
from api.observability.access_log import JsonAccessLogger
from api.observability.logs import configure_logging
from api.serving.hooks import check_upstream, close_pools, pool_warning, reset_pools_after_fork
from api.serving.worker import edge_worker

_settings = settings_or_exit('couchgate')  # one clear line, before any worker starts
configure_logging(_settings.log_level)  # the master's own lines are JSON on stdout too
# CLOUDANT_CAPACITY=auto is asked of Cloudant once, here in the master; the workers read the answer
# from the environment they inherit (no network I/O while their object graphs are built).
os.environ['CLOUDANT_CAPACITY'] = resolve_capacity(_settings)
# Prometheus multiprocess mode (api/observability/multiprocess.py): the directory must be set before anything
# imports prometheus_client, and with preload_app the app is imported before any server hook runs.
metrics_dir.prepare(_settings.metrics_dir)

# gthread, with request heads read by the worker's poller within GUNICORN_HEADER_TIMEOUT: a thread
# only for a request that has arrived (docs/operating.md, "Slow and hostile clients").
worker_class = edge_worker(_settings.header_timeout)
# No gunicorn cap on the request line: the worker enforces its own (32 KiB; a 1,024-character id
# percent-encoded takes up to 12 KB, a `next` link two of them) and 64 KiB for the whole head.
limit_request_line = 0
# One header field up to 16 KiB (gunicorn's default is 8190 bytes): a bearer token over 8 KiB then
# reaches the app, which refuses it as a 401 invalid-token naming the check instead of a bare 431.
limit_request_field_size = 16 * 1024
workers = _settings.workers  # WEB_CONCURRENCY: Heroku sets it by dyno size
threads = _settings.threads
bind = [f'[::]:{_settings.port}']
# Off by default: each worker builds its own app. PRELOAD_APP=1 (or --preload) builds it in the
# master, whose connections the hooks below keep away from the workers.
preload_app = _settings.preload_app
# Below Heroku's 30 s router and shutdown limits; keep-alive above its router's 90 s idle.
timeout = 25
graceful_timeout = 20
keepalive = 95
# One JSON access line per request on stdout, next to the app's line and with the same request_id:
# the access line also covers requests the app never saw (a worker timeout, a broken request).
accesslog = '-'
logger_class = JsonAccessLogger
errorlog = '-'
loglevel = _settings.log_level.lower()
# gunicorn 27 opens a control socket in ~/.gunicorn by default; a dyno has no use for it, and
# two local instances would fight over the path.
control_socket_disable = True


def on_starting(server):
    warning = pool_warning(_settings)
    if warning:
        logging.getLogger('couchgate.server').warning(warning)


def when_ready(server):
    # Only with preload_app is the app (and its pool) in the master: check the upstream through it,
    # so a bad URL or CA shows at start-up. Without it the master never touches the upstream.
    if server.cfg.preload_app:
        from api.wsgi import couch

        check_upstream(couch)
        # The master answers no request: its per-process gauges would read as a phantom worker's.
        metrics_dir.worker_exited(os.getpid())


def post_fork(server, worker):
    reset_pools_after_fork()
    if server.cfg.preload_app:
        from api.wsgi import metrics  # not at the top: prometheus_client only after prepare()

        metrics.start_in_worker()


def worker_exit(server, worker):
    close_pools()


def child_exit(server, worker):
    metrics_dir.worker_exited(worker.pid)  # a dead worker's gauges go; its counters stay


def on_exit(server):
    metrics_dir.cleanup()
