"""The OpenAPI document's component schemas: documents, pages, queries, problems."""

from __future__ import annotations

from api.edge.openapi.parts import DOC_ID, FIELD_NAME, ref
from api.edge.strict_json import MAX_DEPTH, MAX_SAFE_INTEGER


def schemas() -> dict:
    number = {'type': 'number', 'minimum': -MAX_SAFE_INTEGER, 'maximum': MAX_SAFE_INTEGER}
    value = {
        'anyOf': [
            {'type': ['null', 'boolean', 'string']},
            number,
            {'type': 'array', 'items': ref('JsonValue')},
            {'type': 'object', 'additionalProperties': ref('JsonValue')},
        ]
    }
    body = {
        'type': 'object',
        'propertyNames': {'pattern': FIELD_NAME.format(extra='')},
        'additionalProperties': ref('JsonValue'),
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
            body, propertyNames={'pattern': FIELD_NAME.format(extra='|_id$')}, properties={'_id': DOC_ID}
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
                            'doc': ref('Document'),
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
