"""The OpenAPI document's component schemas: documents, pages, queries, problems."""

from __future__ import annotations

from api.edge.openapi.batches import batch_schemas
from api.edge.openapi.changes import changes_schemas
from api.edge.openapi.parts import DOC_ID, FIELD_NAME, REV, ref
from api.edge.problem_types import PROBLEM_TYPES
from api.edge.strict_json import MAX_DEPTH, MAX_SAFE_INTEGER

LIMITS = f'Numbers within ±(2**53-1), at most {MAX_DEPTH} levels of nesting.'


def schemas() -> dict:
    # No `type` and no union: any JSON value, its numbers bounded, its items and members the same.
    # openapi-python-client 0.29 skips a self-referencing union (anyOf of array/object of itself),
    # but reads this as "any value", and JSON Schema validators still apply it at every depth.
    value = {
        'description': f'Any JSON value. {LIMITS}',
        'minimum': -MAX_SAFE_INTEGER,
        'maximum': MAX_SAFE_INTEGER,
        'items': ref('JsonValue'),
        'additionalProperties': ref('JsonValue'),
    }
    body = {'type': 'object', 'additionalProperties': ref('JsonValue')}
    return {
        'Problem': {
            'type': 'object',
            'description': 'RFC 9457. GET the `type` URI (/problems/{name}): what it means, what to do.',
            'required': ['type', 'title', 'status', 'detail'],
            'properties': {
                'type': {'type': 'string', 'format': 'uri-reference', 'pattern': '^/problems/[a-z0-9-]+$'},
                'title': {'type': 'string', 'description': "The status's reason phrase, e.g. Not Found"},
                'status': {'type': 'integer'},
                'detail': {'type': 'string'},
                'request_id': {'type': ['string', 'null']},
            },
        },
        'JsonValue': value,
        'DocumentBody': dict(
            body,
            description='The whole new content of the document. Other fields starting with "_" are '
            f'refused. {LIMITS}',
            propertyNames={'pattern': FIELD_NAME.format(extra='|_id$|_rev$')},
            properties={
                '_id': dict(DOC_ID, description='If given, equal to the id in the path (else 400)'),
                '_rev': dict(
                    REV,
                    type=['string', 'null'],
                    description='The current rev: the precondition when If-Match is absent; '
                    'with If-Match, equal to it (else 400); null is as absent (a create, as some '
                    'CouchDB clients write one)',
                ),
            },
        ),
        'NewDocument': dict(
            body,
            description='The new document. "_id" is optional (the database picks one without it); '
            f'other fields starting with "_", "_rev" too, are refused. {LIMITS}',
            propertyNames={'pattern': FIELD_NAME.format(extra='|_id$')},
            properties={'_id': DOC_ID},
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
            'required': ['rows'],  # total_rows: not for a key with an id_prefix
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
                'total_rows': {
                    'type': 'integer',
                    'description': 'Documents in the database; absent for a key limited to an id prefix',
                },
                'next': {
                    'type': 'string',
                    'format': 'uri-reference',
                    'description': 'The next page, as a path and query (also in the Link header, '
                    'rel="next"); absent on the last page. GET it as is, or pass its query '
                    'parameters to listDocuments.',
                },
            },
        },
        'Query': {
            'type': 'object',
            'required': ['selector'],
            'additionalProperties': False,
            'properties': {
                'selector': dict(body, description=f'A Mango selector. {LIMITS}'),
                'fields': {'type': 'array', 'items': {'type': 'string'}},
                'sort': {
                    'type': 'array',
                    'description': 'Field names, or {"field": "asc"|"desc"}; needs an index',
                    'items': {
                        'anyOf': [
                            {'type': 'string'},
                            {
                                'type': 'object',
                                'minProperties': 1,
                                'maxProperties': 1,
                                'additionalProperties': {'type': 'string', 'enum': ['asc', 'desc']},
                            },
                        ]
                    },
                },
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
                'bookmark': {
                    'type': ['string', 'null'],
                    'description': 'Send it back with the same query for the next page (Cloudant, CouchDB); '
                    'null where the server has no bookmarks (pouchdb-server: page by the sorted field)',
                },
            },
        },
        'ProblemTypeName': {'type': 'string', 'enum': sorted(PROBLEM_TYPES)},
        'Status': {'type': 'object', 'required': ['status'], 'properties': {'status': {'type': 'string'}}},
        **batch_schemas(ref('JsonValue')),
        **changes_schemas(),
    }
