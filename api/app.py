"""The Falcon application factory."""
from __future__ import annotations

import json

import falcon
import orjson
from falcon import media
from injector import Injector

from api.edge.keys import ApiKeys
from api.config import Settings
from api.errors import handle_unexpected, serialize_problem
from api.edge.headers import SecurityHeaders, cors
from api.edge.limits import BodyLimits, RequestTarget
from api.edge.strict_json import StrictJSONHandler
from api.observability.metrics import Metrics, RequestMetrics
from api.edge.databases import AllowedDatabases
from api.edge.request_log import RequestLog
from resources.api_docs import DocsAsset, DocsPage, OpenApiDocument
from resources.document import Document
from resources.documents import Documents
from resources.export import Export
from resources.find import Find
from resources.health import Health, Readiness
from resources.prometheus import PrometheusMetrics


def _dumps(document) -> bytes:
    try:
        return orjson.dumps(document)
    except TypeError:  # an integer beyond 64 bits (stdlib json writes it exactly) or another odd type
        return json.dumps(document, ensure_ascii=False).encode()


# Responses through orjson: stdlib json encoding was the top cost in the benchmark's profile.
# Request bodies keep stdlib json, exact for every number a client sends.
_JSON_RESPONSES = {falcon.MEDIA_JSON: media.JSONHandler(dumps=_dumps)}


def create_app(injector: Injector | None = None) -> falcon.App:
    """Build the WSGI app; the injector (default: from the environment) supplies the resources."""
    if injector is None:
        from container import build_injector
        injector = build_injector(Settings.from_env())
    settings = injector.get(Settings)
    # process_resource runs in this order: key first, so strangers learn nothing of databases or
    # bodies; process_response runs in reverse, so the headers apply to every answer, errors too.
    # RequestMetrics first: its timing spans the other middleware too.
    middleware = [
        RequestMetrics(injector.get(Metrics)),
        RequestLog(),
        cors(settings.cors_allow_origins),
        SecurityHeaders(vary_on_origin=bool(settings.cors_allow_origins)),
        RequestTarget(),
        ApiKeys(settings.api_keys, require_for_reads=settings.require_key_for_reads),
        AllowedDatabases(settings.databases),
        BodyLimits(settings.max_body_bytes),
    ]
    app = falcon.App(middleware=[m for m in middleware if m is not None])
    # JSON only, parsed strictly: Falcon's default handlers would also accept form-encoded bodies.
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: StrictJSONHandler()})
    app.resp_options.media_handlers.update(_JSON_RESPONSES)
    app.set_error_serializer(serialize_problem)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_route('/healthz', Health())
    app.add_route('/readyz', injector.get(Readiness))
    app.add_route('/openapi.json', injector.get(OpenApiDocument))
    app.add_route('/docs', DocsPage())
    app.add_route('/docs/assets/{name}', DocsAsset())
    app.add_route('/v1/{db}/docs', injector.get(Documents))
    # Ids may hold '/': a server decodes %2F before routing, so the id is the rest of the path.
    app.add_route('/v1/{db}/docs/{doc_id:path}', injector.get(Document))
    app.add_route('/v1/{db}/find', injector.get(Find))
    app.add_route('/v1/{db}/export', injector.get(Export))
    app.add_route('/metrics', injector.get(PrometheusMetrics))
    return app
