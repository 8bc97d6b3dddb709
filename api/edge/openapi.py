"""The OpenAPI 3.1 description of every route; tests hold it and the router to each other."""

from __future__ import annotations

import re

from api.config import Settings
from api.edge.methods import READ_METHODS
from api.edge.request_input import MAX_ID_LENGTH, REV_PATTERN
from api.edge.strict_json import MAX_DEPTH, MAX_SAFE_INTEGER

_CTRL = '\\u0000-\\u001f\\u007f'
# 1-1024 characters, none a control character, not starting with "_", and not "." or "..".
DOC_ID_PATTERN = f'^(?:[^_.{_CTRL}][^{_CTRL}]*|\\.[^.{_CTRL}][^{_CTRL}]*|\\.\\.[^{_CTRL}]+)$'
# Keys of a body: none starting with "_"; `extra` lists the exceptions ("_id", "_rev").
_FIELD_NAME = '^(?:$|[^_]{extra})'


def _ref(name: str) -> dict:
    return {'$ref': f'#/components/schemas/{name}'}


def _json(schema: dict, description: str = 'OK', **headers: dict) -> dict:
    response = {'description': description, 'content': {'application/json': {'schema': schema}}}
    if headers:
        response['headers'] = headers
    return response


def _problems(*statuses: int) -> dict:
    problem = {'application/problem+json': {'schema': _ref('Problem')}}
    return {str(s): {'description': 'A problem (RFC 9457)', 'content': problem} for s in statuses}


def _header(description: str, required: bool = True) -> dict:
    return {'description': description, 'required': required, 'schema': {'type': 'string'}}


def _body(schema: dict) -> dict:
    return {'required': True, 'content': {'application/json': {'schema': schema}}}


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {
        'name': name,
        'in': where,
        'required': required or where == 'path',
        'description': description,
        'schema': schema,
    }


_ID = {'type': 'string', 'minLength': 1, 'maxLength': MAX_ID_LENGTH, 'pattern': DOC_ID_PATTERN}
_IF_MATCH = {'type': 'string', 'pattern': REV_PATTERN.replace('^', '^"').replace('$', '"$')}
_KEY = {'type': 'string', 'maxLength': MAX_ID_LENGTH}
_ETAG = _header('"<rev>" of the document')
_UPSTREAM = (429, 502, 503, 504)
_META = {'tags': ['meta']}
_DOCUMENTS = {'tags': ['documents']}


def _secure(paths: dict, settings: Settings, public: frozenset[str]) -> None:
    """Each operation's security, by the rules the key check applies (api/edge/keys.py)."""
    key: list[dict[str, list[str]]] = [{'apiKey': []}]
    read = key if settings.require_key_for_reads else [{}, *key]
    public_paths = {re.sub(r'\{(\w+):\w+\}', r'{\1}', template) for template in public}
    for path, item in paths.items():
        for method, operation in item.items():
            if method != 'parameters':
                operation['security'] = (
                    [] if path in public_paths else read if method.upper() in READ_METHODS else key
                )


def _schemas() -> dict:
    number = {'type': 'number', 'minimum': -MAX_SAFE_INTEGER, 'maximum': MAX_SAFE_INTEGER}
    value = {
        'anyOf': [
            {'type': ['null', 'boolean', 'string']},
            number,
            {'type': 'array', 'items': _ref('JsonValue')},
            {'type': 'object', 'additionalProperties': _ref('JsonValue')},
        ]
    }
    body = {
        'type': 'object',
        'propertyNames': {'pattern': _FIELD_NAME.format(extra='')},
        'additionalProperties': _ref('JsonValue'),
        'description': 'Fields starting with "_" are reserved; numbers within ±(2**53-1); '
        f'at most {MAX_DEPTH} levels deep. "_id" and "_rev" may be sent when they equal '
        'the path id and the If-Match rev.',
    }
    return {
        'Problem': {
            'type': 'object',
            'required': ['type', 'title', 'status', 'detail'],
            'properties': {
                'type': {'type': 'string'},
                'title': {'type': 'string'},
                'status': {'type': 'integer'},
                'detail': {'type': 'string'},
                'request_id': {'type': ['string', 'null']},
            },
        },
        'JsonValue': value,
        'DocumentBody': body,
        'NewDocument': dict(
            body, propertyNames={'pattern': _FIELD_NAME.format(extra='|_id$')}, properties={'_id': _ID}
        ),
        'Document': {
            'type': 'object',
            'required': ['_id', '_rev'],
            'properties': {'_id': {'type': 'string'}, '_rev': {'type': 'string'}},
        },
        'Written': {
            'type': 'object',
            'required': ['id', 'rev'],
            'properties': {'id': {'type': 'string'}, 'rev': {'type': 'string'}},
        },
        'Page': {
            'type': 'object',
            'required': ['rows', 'total_rows'],
            'properties': {
                'rows': {
                    'type': 'array',
                    'items': {
                        'type': 'object',
                        'required': ['id', 'rev'],
                        'properties': {
                            'id': {'type': 'string'},
                            'rev': {'type': 'string'},
                            'doc': _ref('Document'),
                        },
                    },
                },
                'total_rows': {'type': 'integer'},
                'next': {'type': 'string'},
            },
        },
        'Query': {
            'type': 'object',
            'required': ['selector'],
            'additionalProperties': False,
            'properties': {
                'selector': {'type': 'object'},
                'fields': {'type': 'array', 'items': {'type': 'string'}},
                'sort': {'type': 'array'},
                'limit': {'type': 'integer', 'minimum': 1, 'maximum': 1000},
                'bookmark': {'type': 'string'},
            },
        },
        'Found': {
            'type': 'object',
            'required': ['docs'],
            'properties': {
                # `fields` may leave out _id and _rev.
                'docs': {'type': 'array', 'items': {'type': 'object'}},
                'bookmark': {'type': ['string', 'null']},
            },
        },
        'Status': {'type': 'object', 'required': ['status'], 'properties': {'status': {'type': 'string'}}},
    }


def document(settings: Settings, public: frozenset[str]) -> dict:
    """The OpenAPI document for an app built from `settings` (its databases, its key policy);
    `public` holds the route templates whose resources never need a key."""
    db = _param(
        'db',
        'path',
        {'type': 'string', 'enum': list(settings.databases)} if settings.databases else {'type': 'string'},
        'A database on the allowlist (CLOUDANT_DATABASES)',
    )
    doc_id = _param('doc_id', 'path', _ID, 'The document id; "/" may be sent as %2F or as is')
    auth = (401, 403)
    body_errors = (400, 413, 415)
    paths = {
        '/healthz': {
            'get': dict(
                _META,
                operationId='liveness',
                summary='The process answers',
                responses={'200': _json(_ref('Status'))},
            )
        },
        '/readyz': {
            'get': dict(
                _META,
                operationId='readiness',
                summary='The upstream database answers',
                responses={'200': _json(_ref('Status')), **_problems(*_UPSTREAM)},
            )
        },
        '/openapi.json': {
            'get': dict(
                _META,
                operationId='openapi',
                summary='This document',
                responses={'200': _json({'type': 'object'})},
            )
        },
        '/docs': {
            'get': dict(
                _META,
                operationId='docs',
                summary='Interactive documentation',
                responses={'200': {'description': 'HTML', 'content': {'text/html': {}}}},
            )
        },
        '/docs/assets/{name}': {
            'get': dict(
                _META,
                operationId='docsAsset',
                summary='Files of the documentation page',
                parameters=[_param('name', 'path', {'type': 'string'}, 'A file name')],
                responses={
                    '200': {
                        'description': 'A file',
                        'content': {'text/css': {}, 'text/javascript': {}, 'image/png': {}},
                    },
                    **_problems(404),
                },
            )
        },
        '/v1/{db}/docs': {
            'parameters': [db],
            'get': dict(
                _DOCUMENTS,
                operationId='listDocuments',
                summary='Page through the documents by id',
                parameters=[
                    _param(
                        'limit',
                        'query',
                        {'type': 'integer', 'minimum': 1, 'maximum': 1000},
                        'Rows per page (default 25)',
                    ),
                    _param('start_key', 'query', _KEY, 'First id of the page'),
                    _param('end_key', 'query', _KEY, 'Last id to include'),
                    _param('include_docs', 'query', {'type': 'boolean'}, 'Include each document'),
                    _param('descending', 'query', {'type': 'boolean'}, 'Reverse order'),
                ],
                responses={
                    '200': _json(_ref('Page'), Link=_header('rel="next"', False)),
                    **_problems(400, *auth, 404, *_UPSTREAM),
                },
            ),
            'post': dict(
                _DOCUMENTS,
                operationId='createDocument',
                summary='Create a document',
                requestBody=_body(_ref('NewDocument')),
                responses={
                    '201': _json(
                        _ref('Written'), 'Created', ETag=_ETAG, Location=_header('Where the document is')
                    ),
                    **_problems(*body_errors, *auth, 404, 409, *_UPSTREAM),
                },
            ),
        },
        '/v1/{db}/docs/{doc_id}': {
            'parameters': [db, doc_id],
            'get': dict(
                _DOCUMENTS,
                operationId='getDocument',
                summary='Read a document',
                parameters=[_param('If-None-Match', 'header', {'type': 'string'}, '"<rev>"')],
                responses={
                    '200': _json(_ref('Document'), ETag=_ETAG),
                    '304': {'description': 'Not modified', 'headers': {'ETag': _ETAG}},
                    **_problems(400, *auth, 404, *_UPSTREAM),
                },
            ),
            'put': dict(
                _DOCUMENTS,
                operationId='putDocument',
                summary='Create, or update with If-Match',
                parameters=[_param('If-Match', 'header', _IF_MATCH, 'The current "<rev>" to update')],
                requestBody=_body(_ref('DocumentBody')),
                responses={
                    '200': _json(_ref('Written'), 'Updated', ETag=_ETAG),
                    '201': _json(_ref('Written'), 'Created', ETag=_ETAG),
                    **_problems(*body_errors, *auth, 404, 412, 428, *_UPSTREAM),
                },
            ),
            'delete': dict(
                _DOCUMENTS,
                operationId='deleteDocument',
                summary='Delete the current rev',
                parameters=[_param('If-Match', 'header', _IF_MATCH, 'The current "<rev>"', True)],
                responses={
                    '204': {'description': 'Deleted'},
                    **_problems(400, *auth, 404, 412, 428, *_UPSTREAM),
                },
            ),
        },
        '/v1/{db}/export': {
            'parameters': [db],
            'get': dict(
                _DOCUMENTS,
                operationId='exportDocuments',
                summary='Every document as NDJSON, streamed in id order',
                parameters=[
                    _param('start_key', 'query', _KEY, 'First id to export'),
                    _param('end_key', 'query', _KEY, 'Last id to export'),
                ],
                responses={
                    '200': {
                        'description': 'One JSON document per line',
                        'content': {'application/x-ndjson': {'schema': {'type': 'string'}}},
                    },
                    **_problems(400, *auth, 404, *_UPSTREAM),
                },
            ),
        },
        '/metrics': {
            'get': dict(
                _META,
                operationId='metrics',
                summary='Prometheus metrics, all workers',
                responses={'200': {'description': 'Prometheus text format', 'content': {'text/plain': {}}}},
            )
        },
        '/v1/{db}/find': {
            'parameters': [db],
            # Like every POST it needs a key: an unindexed query scans the whole database.
            'post': dict(
                _DOCUMENTS,
                operationId='find',
                summary='A Mango query',
                requestBody=_body(_ref('Query')),
                responses={'200': _json(_ref('Found')), **_problems(*body_errors, *auth, 404, *_UPSTREAM)},
            ),
        },
    }
    _secure(paths, settings, public)
    return {
        'openapi': '3.1.0',
        'info': {
            'title': 'couchgate',
            'version': '1',
            'description': 'A REST API over Cloudant/CouchDB. Errors are application/problem+json.',
        },
        'paths': paths,
        'components': {
            'schemas': _schemas(),
            'securitySchemes': {
                'apiKey': {'type': 'http', 'scheme': 'bearer', 'description': 'An API key from API_KEYS'}
            },
        },
    }
