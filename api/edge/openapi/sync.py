"""The OpenAPI description of /sync: CouchDB's replication protocol, for PouchDB and other replicators.

These routes speak CouchDB's HTTP API (docs.couchdb.org), so each is described briefly here: what
it does for the principal, and that errors are CouchDB's `{"error", "reason"}`, not problems.
"""

from __future__ import annotations

from typing import Any

from api.edge.openapi.parts import body, json_response, param

SYNC = {'tags': ['sync']}
_OBJECT = {'type': 'object'}
_ERROR = {
    'description': 'CouchDB\'s error shape: {"error": "not_found" | "forbidden" | "unauthorized" | '
    '"bad_request" | "conflict" | ..., "reason": "<what went wrong, in couchgate\'s words>"}',
    'content': {
        'application/json': {
            'schema': {
                'type': 'object',
                'required': ['error', 'reason'],
                'properties': {'error': {'type': 'string'}, 'reason': {'type': 'string'}},
            }
        }
    },
}
_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 1024}


def _operation(operation_id: str, summary: str, status: str = '200', *, with_body: bool = False) -> dict:
    operation = dict(
        SYNC,
        operationId=operation_id,
        summary=summary,
        responses={status: json_response(_OBJECT), 'default': _ERROR},
    )
    if with_body:
        operation['requestBody'] = body(_OBJECT)
    return operation


def _with_slash(path: str, get_id: str, post_id: str | None = None, db: dict | None = None) -> dict:
    """A path and the same with a trailing slash (PouchDB's form), each with operation ids of its own."""
    items: dict[str, dict[str, Any]] = {}
    for suffix, form in (('', path), ('Slash', path + '/')):
        if db is None:
            summary = 'The server: {"couchdb", "uuid", "version"}, the uuid stable per deployment'
            items[form] = {'get': _operation(get_id + suffix, summary)}
            continue
        items[form] = {
            'parameters': [db],
            'get': _operation(get_id + suffix, 'The database: db_name, update_seq, instance_start_time'),
        }
        items[form]['put'] = dict(
            SYNC,
            operationId='putSyncDatabase' + suffix,
            summary='Refused as CouchDB refuses an existing database (412): couchgate never creates one',
            responses={'412': _ERROR, 'default': _ERROR},
        )
        if post_id is not None:
            items[form]['post'] = _operation(
                post_id + suffix, 'A new document, its id from the body or a new one', '201', with_body=True
            )
    return items


def sync_paths(db: dict) -> dict:
    """Every /sync route: the server, a database, checkpoints, changes, batches and documents."""
    local = param('name', 'path', _NAME, "A checkpoint's id (after _local/): the principal's own")
    rest = param('rest', 'path', _NAME, 'A document id, or an id, "/" and an attachment name')
    return {
        **_with_slash('/sync', 'getSyncServer'),
        **_with_slash('/sync/{db}', 'getSyncDatabase', 'postSyncNewDocument', db=db),
        '/sync/{db}/_local/{name}': {
            'parameters': [db, local],
            'get': _operation('getSyncCheckpoint', "A replicator's checkpoint, kept apart per principal"),
            'put': _operation('putSyncCheckpoint', 'Write a checkpoint', '201', with_body=True),
            'delete': _operation('deleteSyncCheckpoint', 'Delete a checkpoint (?rev=)'),
        },
        '/sync/{db}/_changes': {
            'parameters': [db],
            'get': _operation(
                'getSyncChanges',
                "The principal's changes (since, limit, style=all_docs, feed=normal|longpoll, timeout, "
                'include_docs, filter=_doc_ids with doc_ids); a page shorter than limit is the end',
            ),
            'post': _operation(
                'postSyncChanges', 'The changes of the ids in {"doc_ids": [...]}', with_body=True
            ),
        },
        '/sync/{db}/_revs_diff': {
            'parameters': [db],
            'post': _operation(
                'postSyncRevsDiff', 'Of {id: [revs]}, the revisions the database lacks', with_body=True
            ),
        },
        '/sync/{db}/_bulk_get': {
            'parameters': [db],
            'post': _operation(
                'postSyncBulkGet',
                'Revisions by {"docs": [{"id", "rev"}]} (revs, latest, attachments)',
                with_body=True,
            ),
        },
        '/sync/{db}/_bulk_docs': {
            'parameters': [db],
            'post': _operation(
                'postSyncBulkDocs',
                'Write a batch ({"docs", "new_edits"}); an id not the principal\'s: that row is "forbidden"',
                '201',
                with_body=True,
            ),
        },
        '/sync/{db}/_all_docs': {
            'parameters': [db],
            'get': _operation('getSyncAllDocs', "The principal's documents by id"),
            'post': _operation('postSyncAllDocs', 'The documents of {"keys": [...]}', with_body=True),
        },
        '/sync/{db}/{rest}': {
            'parameters': [db, rest],
            'get': _operation(
                'getSyncDocument', 'A document (rev, revs, open_revs, latest, conflicts, attachments)'
            ),
            'put': _operation(
                'putSyncDocument', 'Write a document (new_edits=false: as sent)', '201', with_body=True
            ),
            'delete': _operation('deleteSyncDocument', 'Delete a document (?rev=)'),
            'post': _operation('postSyncDocument', 'Refused: only documents are served through /sync', '403'),
        },
    }
