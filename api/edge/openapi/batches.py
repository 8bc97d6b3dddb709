"""The OpenAPI description of bulk writes, lookups and the Idempotency-Key header."""

from __future__ import annotations

from api.edge.batch_input import MAX_ITEMS
from api.edge.openapi.parts import DOC_ID, DOCUMENTS, REV, body, json_response, param, problems, ref
from api.edge.strict_json import MAX_SAFE_INTEGER

_KEY = '[!#-\\[\\]-~]{1,255}'
IDEMPOTENCY_KEY = param(
    'Idempotency-Key',
    'header',
    # Printable ASCII but `"` and `\`, 1-255 of them, bare or as a quoted sf-string.
    {'type': 'string', 'pattern': f'^(?:"{_KEY}"|{_KEY})$'},
    'IETF httpapi Idempotency-Key draft: 1-255 printable ASCII characters, e.g. a UUID, quoted or not. '
    'A repeat with the same key and body (and API key) gets the first answer again and writes nothing; '
    'with another body, 422. Remembered at least 24 hours (in the database: for as long as it keeps it).',
)
_ITEM_STATUSES = [200, 201, 400, 403, 404, 409, 412]


def batch_paths(db: dict, *statuses: int) -> dict:
    """POST /v1/{db}/bulk and POST /v1/{db}/lookup; `statuses` are the problems every POST may meet."""
    return {
        '/v1/{db}/bulk': {
            'parameters': [db],
            'post': dict(
                DOCUMENTS,
                operationId='bulkWrite',
                summary=f'Create, update and delete up to {MAX_ITEMS} documents in one request',
                description='One upstream request; a result per item in request order. A failed item '
                'says why: 412 (changed since that rev), 409 (deleted, or a create over a live document), '
                '404 (never existed), 400 (refused by couchgate: reserved fields, "_design" or other '
                "invalid ids, one id twice in the batch), 403 (outside the key's id prefix).",
                parameters=[IDEMPOTENCY_KEY],
                requestBody=body(ref('BulkRequest')),
                responses={
                    '200': json_response(ref('BulkResults'), 'A result per item, in order'),
                    **problems(*statuses, 409, 413, 422),
                },
            ),
        },
        '/v1/{db}/lookup': {
            'parameters': [db],
            'post': dict(
                DOCUMENTS,
                operationId='lookupDocuments',
                summary=f'Read up to {MAX_ITEMS} documents by id in one request',
                description='In request order: {id, rev, doc}, or {id, status: 404} for an id deleted or '
                "never written (or outside the key's id prefix). 413 lookup-too-large when the documents "
                'hold more than API_MAX_PAGE_BYTES together: ask for fewer.',
                requestBody=body(ref('LookupRequest')),
                responses={
                    '200': json_response(ref('LookupResults'), 'An entry per id, in order'),
                    **problems(*statuses, 413),
                },
            ),
        },
    }


def batch_schemas(any_value: dict) -> dict:
    """The bodies and answers of bulk writes and lookups."""
    return {
        'BulkRequest': {
            'type': 'object',
            'required': ['docs'],
            'additionalProperties': False,
            'properties': {'docs': {'type': 'array', 'maxItems': MAX_ITEMS, 'items': ref('BulkItem')}},
        },
        # No `type`, no constraint: whatever an item holds, the request is answered 200, and an item
        # couchgate refuses (not an object, a bad "_id" or "_rev", ...) gets its own 400 result.
        'BulkItem': {
            'description': 'A create (an object without "_rev"; "_id" optional), an update ("_id", '
            '"_rev") or a delete ("_id", "_rev", "_deleted": true). Other fields starting with "_" are '
            'refused in that item (400), as are "_design" ids and an id given twice in one batch.',
            # JsonValue's bounds: the strict parser refuses such numbers anywhere in a body (400).
            'minimum': -MAX_SAFE_INTEGER,
            'maximum': MAX_SAFE_INTEGER,
            'items': any_value,
            'additionalProperties': any_value,
        },
        'BulkResults': {
            'type': 'object',
            'required': ['results'],
            'properties': {'results': {'type': 'array', 'items': ref('BulkResult')}},
        },
        'BulkResult': {
            'type': 'object',
            'required': ['status'],
            'properties': {
                'id': {'type': ['string', 'null'], 'description': 'null for an item with no usable id'},
                'rev': {'type': 'string'},
                'status': {'type': 'integer', 'enum': _ITEM_STATUSES},
                'quorum': {'type': 'boolean', 'description': 'false: written, below the write quorum (202)'},
                'problem': ref('ItemProblem'),
            },
        },
        'ItemProblem': {
            'type': 'object',
            'description': "An item's problem (RFC 9457 members; the status is the item's)",
            'required': ['type', 'title', 'detail'],
            'properties': {
                'type': {'type': 'string', 'format': 'uri-reference'},
                'title': {'type': 'string'},
                'detail': {'type': 'string'},
            },
        },
        'LookupRequest': {
            'type': 'object',
            'required': ['ids'],
            'additionalProperties': False,
            'properties': {'ids': {'type': 'array', 'maxItems': MAX_ITEMS, 'items': DOC_ID}},
        },
        'LookupResults': {
            'type': 'object',
            'required': ['docs'],
            'properties': {'docs': {'type': 'array', 'items': ref('LookupEntry')}},
        },
        'LookupEntry': {
            'type': 'object',
            'required': ['id'],
            'properties': {
                'id': {'type': 'string'},
                'rev': REV,
                'doc': ref('Document'),
                'status': {'type': 'integer', 'enum': [404], 'description': 'Deleted or never written'},
            },
        },
    }
