"""The Falcon application factory: routes, middleware, media handlers, error handlers. No I/O."""

from __future__ import annotations

from typing import Any

import falcon
from falcon import media
from injector import Injector

from api.auth.verifier import TokenVerifier
from api.config import Settings
from api.config.design import Design
from api.edge import openapi
from api.edge.context import Request
from api.edge.databases import AllowedDatabases
from api.edge.framing import BODY_ERRORS, handle_body_error
from api.edge.head_and_options import HeadAndOptions
from api.edge.headers import SecurityHeaders, cors
from api.edge.keys import ApiKeys, is_public, needs_principal, scope_of
from api.edge.limits import BodyLimits, RequestTarget
from api.edge.rate_limit import RateLimitHeaders
from api.edge.representation import Representation
from api.edge.request_log import RequestLog
from api.edge.strict_json import StrictJSONHandler
from api.errors import handle_unexpected, serialize_problem
from api.observability.metrics import Metrics, RequestMetrics
from api.upstream.json_values import dumps
from resources.api_docs import OpenApiDocument, SwaggerAsset, SwaggerPage
from resources.bulk import Bulk
from resources.changes import ChangesFeed
from resources.document import Document
from resources.documents import Documents
from resources.export import Export
from resources.find import Find
from resources.health import Health, Readiness
from resources.lookup import Lookup
from resources.problems import ProblemIndex, ProblemPage
from resources.prometheus import PrometheusMetrics
from resources.sync import SyncChanges, SyncDatabase, SyncLocal, SyncRoot
from resources.sync_documents import SyncDocument
from resources.sync_replication import SyncAllDocs, SyncBulkDocs, SyncBulkGet, SyncRevsDiff
from resources.views import View

# Responses through orjson: stdlib json encoding was the top cost in the benchmark's profile.
# Request bodies keep stdlib json, exact for every number a client sends.
_JSON_RESPONSES = {falcon.MEDIA_JSON: media.JSONHandler(dumps=dumps)}


def routes(injector: Injector) -> dict[str, object]:
    """Every route template and the resource that serves it."""
    return {
        '/healthz': Health(),
        '/readyz': injector.get(Readiness),
        '/docs': SwaggerPage(),
        '/docs/assets/{name}': SwaggerAsset(),
        '/metrics': injector.get(PrometheusMetrics),
        '/problems': ProblemIndex(),
        '/problems/{name}': ProblemPage(),
        '/v1/{db}/docs': injector.get(Documents),
        # Ids may hold '/': a server decodes %2F before routing, so the id is the rest of the path.
        '/v1/{db}/docs/{doc_id:path}': injector.get(Document),
        '/v1/{db}/bulk': injector.get(Bulk),
        '/v1/{db}/lookup': injector.get(Lookup),
        '/v1/{db}/find': injector.get(Find),
        '/v1/{db}/export': injector.get(Export),
        '/v1/{db}/changes': injector.get(ChangesFeed),
        '/v1/{db}/views/{ddoc}/{view}': injector.get(View),
        **sync_routes(injector),
    }


def sync_routes(injector: Injector) -> dict[str, object]:
    """The replication endpoint: a CouchDB database URL per allowed database, for PouchDB."""
    root, database = injector.get(SyncRoot), injector.get(SyncDatabase)
    return {
        '/sync': root,
        '/sync/': root,  # a replicator asks for the URL minus the database: this, with its slash
        '/sync/{db}': database,
        '/sync/{db}/': database,  # PouchDB's form of the database URL
        '/sync/{db}/_local/{name}': injector.get(SyncLocal),
        '/sync/{db}/_changes': injector.get(SyncChanges),
        '/sync/{db}/_revs_diff': injector.get(SyncRevsDiff),
        '/sync/{db}/_bulk_get': injector.get(SyncBulkGet),
        '/sync/{db}/_bulk_docs': injector.get(SyncBulkDocs),
        '/sync/{db}/_all_docs': injector.get(SyncAllDocs),
        # The rest of the path: an id, or an id and an attachment's name (resources/sync_documents.py).
        '/sync/{db}/{rest:path}': injector.get(SyncDocument),
    }


def create_app(injector: Injector) -> falcon.App:
    """Build the WSGI app from the worker's object graph (container.build_injector)."""
    settings = injector.get(Settings)
    # process_resource runs in this order: key first, so strangers learn nothing of databases or
    # bodies; process_response runs in reverse, so the headers apply to every answer, errors too.
    # RequestMetrics first: its timing spans the other middleware too.
    middleware: list[Any] = [
        RequestMetrics(injector.get(Metrics)),
        RequestLog(),
        cors(settings.cors_allow_origins),
        SecurityHeaders(vary_on_origin=bool(settings.cors_allow_origins)),
        # HEAD as GET until the response; Allow before CORS reads it; ETags, 304s and gzip on the
        # final body, before HEAD drops it (process_response runs bottom-up).
        HeadAndOptions(),
        Representation(),
        RequestTarget(),
        RateLimitHeaders(),
        ApiKeys(
            settings.api_keys,
            require_for_reads=settings.require_key_for_reads,
            anonymous_quota=settings.anonymous_quota,
            tokens=injector.get(TokenVerifier) if settings.auth_issuers else None,
        ),
        AllowedDatabases(settings.databases),
        BodyLimits(settings.max_body_bytes),
    ]
    app = falcon.App(request_type=Request, middleware=[m for m in middleware if m is not None])
    # JSON only, parsed strictly: Falcon's default handlers would also accept form-encoded bodies.
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: StrictJSONHandler()})
    app.resp_options.media_handlers.update(_JSON_RESPONSES)
    app.set_error_serializer(serialize_problem)
    app.add_error_handler(Exception, handle_unexpected)
    # A chunked body gunicorn cannot read (bad chunk size, LF-only lines, cut short) is the client's 400.
    app.add_error_handler(BODY_ERRORS, handle_body_error)
    table = routes(injector)
    table['/openapi.json'] = description = OpenApiDocument()
    # The same attribute the key check reads decides which operations the document calls public.
    description.describe(
        openapi.document(
            settings,
            public=frozenset(path for path, resource in table.items() if is_public(resource)),
            principal_only=frozenset(path for path, resource in table.items() if needs_principal(resource)),
            scopes={
                path: {m: scope_of(resource, m) for m in ('GET', 'HEAD', 'POST', 'PUT', 'DELETE')}
                for path, resource in table.items()
            },
            views={db: injector.get(Design).views(db) for db in settings.databases},
        )
    )
    for path, resource in table.items():
        app.add_route(path, resource)
    return app
