"""OpenAPI links: how one answer leads to the next request (stateful clients and fuzzers follow them)."""

from __future__ import annotations

# The ETag is the quoted rev, exactly what If-Match and If-None-Match take.
_DB = {'db': '$request.path.db'}


def _to_document(id_expression: str, *, body: str | None = None) -> dict:
    """Links from an answer naming a document (by `id_expression`) to reading, updating and deleting it."""
    at = dict(_DB, doc_id=id_expression)
    update = {
        'operationId': 'putDocument',
        'parameters': dict(at, **{'header.If-Match': '$response.header.ETag'}),
    }
    if body:
        update['requestBody'] = (
            body  # the document as read: "_id" and "_rev" agree with the path and If-Match
        )
    return {
        'read': {'operationId': 'getDocument', 'parameters': at, 'description': 'Read the document'},
        'readIfChanged': {
            'operationId': 'getDocument',
            'parameters': dict(at, **{'header.If-None-Match': '$response.header.ETag'}),
            'description': '304 while the rev is still the ETag',
        },
        'update': dict(update, description='Replace this rev (If-Match: the ETag)'),
        'delete': {
            'operationId': 'deleteDocument',
            'parameters': dict(at, **{'header.If-Match': '$response.header.ETag'}),
            'description': 'Delete this rev (If-Match: the ETag)',
        },
    }


WRITTEN = _to_document('$response.body#/id')
READ = _to_document('$request.path.doc_id', body='$response.body')
LISTED = {
    'firstRow': {
        'operationId': 'getDocument',
        'parameters': dict(_DB, doc_id='$response.body#/rows/0/id'),
        'description': 'Read the first document of the page',
    },
}
