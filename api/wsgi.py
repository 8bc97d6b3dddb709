"""The WSGI entry point gunicorn loads: `api.wsgi:app`; gunicorn.conf.py's hooks take `couch` and
`metrics` of this same object graph when the app is preloaded in the master."""

from __future__ import annotations

from api.app import create_app
from api.bootstrap import settings_or_exit
from api.observability.logs import configure_logging
from api.observability.metrics import Metrics
from api.upstream.couch import Couch
from container import build_injector

settings = settings_or_exit('couchgate')
configure_logging(settings.log_level)
_injector = build_injector(settings)
app = create_app(_injector)
couch = _injector.get(Couch)
metrics = _injector.get(Metrics)
