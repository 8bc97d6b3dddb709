"""The WSGI entry point gunicorn loads: `api.wsgi:app`; gunicorn.conf.py's hooks take `couch` and
`metrics` of this same object graph when the app is preloaded in the master."""

from __future__ import annotations

import sys

from api.app import create_app
from api.bootstrap import settings_or_exit
from api.config import ConfigError
from api.observability.logs import configure_logging
from api.observability.metrics import Metrics
from api.upstream.couch import Couch
from container import build_injector

settings = settings_or_exit('couchgate')
configure_logging(settings.log_level)
_injector = build_injector(settings)
try:
    app = create_app(_injector)
except ConfigError as e:  # design/ (views and indexes as code) is read here, once: a bad file is one line
    print(f'couchgate: configuration error: {e}', file=sys.stderr, flush=True)
    raise SystemExit(2) from None
couch = _injector.get(Couch)
metrics = _injector.get(Metrics)
