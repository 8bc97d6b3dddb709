"""The OpenAPI description of the views of design/: their names as enums, so generated clients offer them."""

from __future__ import annotations

from api.edge.openapi.parts import UPSTREAM, body, json_response, param, problems, ref

Views = dict[str, dict[str, dict[str, bool]]]  # db -> ddoc -> view -> has a reduce (api/config/design.py)
VIEWS = {'tags': ['views']}
_JSON_KEY = {'type': 'string', 'maxLength': 8192}
_ANY = {'description': 'Any JSON value'}


def view_schemas(views: Views) -> dict:
    """`Views`: per database, an enum of its views as "ddoc/view"; and the shapes of the answers."""
    ddocs = sorted({d for by_db in views.values() for d in by_db})
    names = sorted({v for by_db in views.values() for names in by_db.values() for v in names})
    return {
        'DesignDocumentName': _enum(ddocs),
        'ViewName': _enum(names),
        'Views': {
            'type': 'object',
            'description': 'The views each database serves (design/<db>/<ddoc>.json), as "ddoc/view"',
            'properties': {
                db: {
                    'type': 'string',
                    'enum': sorted(f'{d}/{v}' for d, names in ddocs.items() for v in names),
                }
                for db, ddocs in sorted(views.items())
                if ddocs
            },
        },
        'ViewRows': {
            'type': 'object',
            'required': ['rows'],
            'properties': {
                'rows': {
                    'type': 'array',
                    'items': {
                        'type': 'object',
                        'required': ['key', 'value'],
                        'properties': {
                            'id': {'type': 'string', 'description': 'Map rows: the document that emitted it'},
                            'key': _ANY,
                            'value': _ANY,
                            'doc': {'type': ['object', 'null'], 'description': 'With include_docs'},
                        },
                    },
                },
                'next': {
                    'type': 'string',
                    'format': 'uri-reference',
                    'description': 'Map rows: the next page (also Link: rel="next"); absent on the last',
                },
                'truncated': {
                    'type': 'boolean',
                    'description': 'Reduced rows or rows by keys that `limit` (or the byte budget) cut short',
                },
            },
        },
        'ViewKeys': {
            'type': 'object',
            'required': ['keys'],
            'additionalProperties': False,
            'properties': {'keys': {'type': 'array', 'minItems': 1, 'maxItems': 1000, 'items': _ANY}},
        },
    }


def view_path(db: dict) -> dict:
    """/v1/{db}/views/{ddoc}/{view}: GET with the query parameters, POST with {"keys": [...]} too."""
    ddoc = param('ddoc', 'path', ref('DesignDocumentName'), 'A design document of design/ (see Views)')
    view = param('view', 'path', ref('ViewName'), 'A view of that design document (see Views)')
    query = [
        param('key', 'query', _JSON_KEY, 'Only rows of this key, as JSON (e.g. "thai", with the quotes)'),
        param('start_key', 'query', _JSON_KEY, 'The first key, as JSON'),
        param('end_key', 'query', _JSON_KEY, 'The last key, as JSON (included)'),
        param('start_key_doc_id', 'query', {'type': 'string'}, 'With start_key: the first document id'),
        param('limit', 'query', {'type': 'integer', 'minimum': 1, 'maximum': 1000}, 'Rows (default 25)'),
        param('descending', 'query', {'type': 'boolean'}, 'Reverse order'),
        param('include_docs', 'query', {'type': 'boolean'}, 'Map rows: each with its document'),
        param('reduce', 'query', {'type': 'boolean'}, 'false: map rows of a view that reduces'),
        param('group', 'query', {'type': 'boolean'}, 'Reduce by key'),
        param(
            'group_level', 'query', {'type': 'integer', 'minimum': 0, 'maximum': 1000}, 'Reduce by key prefix'
        ),
    ]
    answers = {
        '200': json_response(ref('ViewRows'), 'Rows; map rows page by `next`'),
        **problems(400, 401, 403, 404, *UPSTREAM),
    }
    return {
        'parameters': [db, ddoc, view],
        'get': dict(
            VIEWS, operationId='queryView', summary='Query a view', parameters=query, responses=answers
        ),
        'post': dict(
            VIEWS,
            operationId='queryViewByKeys',
            summary='Query a view for a list of keys',
            parameters=[
                p for p in query if p['name'] not in ('key', 'start_key', 'end_key', 'start_key_doc_id')
            ],
            requestBody=body(ref('ViewKeys')),
            responses=dict(answers, **problems(400, 401, 403, 404, 413, 415, *UPSTREAM)),
        ),
    }


def _enum(values: list[str]) -> dict:
    return {'type': 'string', 'enum': values} if values else {'type': 'string'}
