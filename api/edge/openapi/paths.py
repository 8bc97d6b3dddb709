"""The OpenAPI document's paths: every route, its parameters, bodies and responses."""

from __future__ import annotations

from api.config import Settings
from api.edge.openapi import links
from api.edge.openapi.batches import IDEMPOTENCY_KEY, batch_paths
from api.edge.openapi.changes import changes_path
from api.edge.openapi.parts import (
    DOC_ID,
    DOCUMENTS,
    ETAG,
    IF_MATCH,
    KEY_PARAM,
    UPSTREAM,
    body,
    header,
    json_response,
    meta_get,
    param,
    problems,
    ref,
)

HTML = {'description': 'HTML', 'content': {'text/html': {'schema': {'type': 'string'}}}}


def paths(settings: Settings) -> dict:
    """Every route's operations, without their security (the package's document() adds it)."""
    db = param(
        'db',
        'path',
        ref('Database'),
        'A database on the allowlist (CLOUDANT_DATABASES)',
    )
    doc_id = param(
        'doc_id',
        'path',
        DOC_ID,
        'The document id as one path segment, percent-encoded: "/" as %2F, as generated clients '
        'send it (a raw "/" is accepted too: the id is the rest of the path)',
    )
    auth = (401, 403)
    body_errors = (400, 413, 415)
    paths = {
        '/healthz': meta_get('liveness', 'The process answers', json_response(ref('Status'))),
        '/readyz': meta_get(
            'readiness', 'The upstream database answers', json_response(ref('Status')), *UPSTREAM
        ),
        '/openapi.json': meta_get('openapi', 'This document', json_response({'type': 'object'})),
        '/docs': meta_get('docs', 'Interactive documentation', HTML),
        '/docs/assets/{name}': meta_get(
            'docsAsset',
            'Files of the documentation page',
            {'description': 'A file', 'content': {'text/css': {}, 'text/javascript': {}, 'image/png': {}}},
            404,
            parameters=[param('name', 'path', {'type': 'string'}, 'A file name')],
        ),
        '/v1/{db}/docs': {
            'parameters': [db],
            'get': dict(
                DOCUMENTS,
                operationId='listDocuments',
                summary='Page through the documents by id',
                parameters=[
                    param(
                        'limit',
                        'query',
                        {'type': 'integer', 'minimum': 1, 'maximum': 1000},
                        'Rows per page (default 25)',
                    ),
                    param('start_key', 'query', KEY_PARAM, 'First id of the page'),
                    param('end_key', 'query', KEY_PARAM, 'Last id to include'),
                    param('include_docs', 'query', {'type': 'boolean'}, 'Include each document'),
                    param('descending', 'query', {'type': 'boolean'}, 'Reverse order'),
                    param('If-None-Match', 'header', {'type': 'string'}, 'The ETag of this page'),
                ],
                responses={
                    '200': dict(
                        json_response(
                            ref('Page'),
                            'A page; `next` (and Link: rel="next") is the following one',
                            Link=header('<next>; rel="next", while there is a next page', False),
                            ETag=header('Of this page', False),
                        ),
                        links=links.LISTED,
                    ),
                    '304': {'description': 'Not modified: the page is still the ETag'},
                    **problems(400, *auth, 404, *UPSTREAM),
                },
            ),
            'post': dict(
                DOCUMENTS,
                operationId='createDocument',
                summary='Create a document',
                parameters=[IDEMPOTENCY_KEY],
                requestBody=body(ref('NewDocument')),
                responses={
                    '201': dict(
                        json_response(
                            ref('Written'), 'Created', ETag=ETAG, Location=header('Where the document is')
                        ),
                        links=links.WRITTEN,
                    ),
                    **problems(*body_errors, *auth, 404, 409, 422, *UPSTREAM),
                },
            ),
        },
        '/v1/{db}/docs/{doc_id}': {
            'parameters': [db, doc_id],
            'get': dict(
                DOCUMENTS,
                operationId='getDocument',
                summary='Read a document',
                parameters=[param('If-None-Match', 'header', {'type': 'string'}, '"<rev>"')],
                responses={
                    '200': dict(json_response(ref('Document'), ETag=ETAG), links=links.READ),
                    '304': {'description': 'Not modified', 'headers': {'ETag': ETAG}},
                    **problems(400, *auth, 404, *UPSTREAM),
                },
            ),
            'put': dict(
                DOCUMENTS,
                operationId='putDocument',
                summary='Create, or update the current rev (If-Match, or "_rev" in the body)',
                parameters=[param('If-Match', 'header', IF_MATCH, 'The current "<rev>" to update')],
                requestBody=body(ref('DocumentBody')),
                responses={
                    '200': dict(json_response(ref('Written'), 'Updated', ETag=ETAG), links=links.WRITTEN),
                    '201': dict(json_response(ref('Written'), 'Created', ETag=ETAG), links=links.WRITTEN),
                    **problems(*body_errors, *auth, 404, 412, 428, *UPSTREAM),
                },
            ),
            'delete': dict(
                DOCUMENTS,
                operationId='deleteDocument',
                summary='Delete the current rev',
                parameters=[param('If-Match', 'header', IF_MATCH, 'The current "<rev>"', True)],
                responses={
                    '204': {'description': 'Deleted'},
                    **problems(400, *auth, 404, 412, 428, *UPSTREAM),
                },
            ),
        },
        '/v1/{db}/export': {
            'parameters': [db],
            'get': dict(
                DOCUMENTS,
                operationId='exportDocuments',
                summary='Every document as NDJSON, streamed in id order',
                parameters=[
                    param('start_key', 'query', KEY_PARAM, 'First id to export'),
                    param('end_key', 'query', KEY_PARAM, 'Last id to export'),
                ],
                responses={
                    '200': {
                        'description': 'One JSON document per line, streamed (Content-Type: '
                        'application/x-ndjson). The same bytes are listed as application/octet-stream '
                        'for generators that know no NDJSON: read the body as a byte stream.',
                        'content': {
                            'application/x-ndjson': {'schema': {'type': 'string'}},
                            'application/octet-stream': {'schema': {'type': 'string', 'format': 'binary'}},
                        },
                    },
                    **problems(400, *auth, 404, *UPSTREAM),
                },
            ),
        },
        '/v1/{db}/changes': changes_path(db),
        '/problems': meta_get('problemTypes', 'Every problem type, linked to its page', HTML),
        '/problems/{name}': meta_get(
            'problemType',
            'What a problem type means, and what to do',
            HTML,
            404,
            parameters=[param('name', 'path', ref('ProblemTypeName'), 'A problem type')],
        ),
        '/metrics': meta_get(
            'metrics',
            'Prometheus metrics, all workers',
            {'description': 'Prometheus text format', 'content': {'text/plain': {}}},
        ),
        '/v1/{db}/find': {
            'parameters': [db],
            # Like every POST it needs a key: an unindexed query scans the whole database.
            'post': dict(
                DOCUMENTS,
                operationId='find',
                summary='A Mango query',
                requestBody=body(ref('Query')),
                responses={
                    '200': json_response(ref('Found')),
                    **problems(*body_errors, *auth, 404, *UPSTREAM),
                },
            ),
        },
    }
    paths.update(batch_paths(db, *body_errors, *auth, 404, *UPSTREAM))
    return paths
