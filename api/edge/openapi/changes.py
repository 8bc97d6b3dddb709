"""The OpenAPI description of GET /v1/{db}/changes: Server-Sent Events, or a long poll's JSON page."""

from __future__ import annotations

from api.edge.openapi.parts import UPSTREAM, header, param, problems, ref
from api.edge.request_input import SINCE_PATTERN

CHANGES = {'tags': ['changes']}
# What resources/changes.py accepts as `since` (and Last-Event-ID), from the one pattern of both.
SINCE = {'type': 'string', 'pattern': f'^(?:{SINCE_PATTERN})$'}
_NO_STORE = header('no-store', False)


def changes_path(db: dict) -> dict:
    """GET /v1/{db}/changes: the route's parameters, its two kinds of 200 and its problems."""
    problem_answers = problems(400, 401, 403, 404, *UPSTREAM)
    problem_answers['400']['description'] = (
        'invalid-since: `since` (or Last-Event-ID) is not 0, now or a seq; invalid-parameter: limit, '
        'wait or include_docs out of range, or the bearer sent both as Authorization and as access_token'
    )
    problem_answers['503'] = dict(
        problem_answers['503'],
        description='too-many-streams: this worker serves CHANGES_MAX_STREAMS streams and waiting long '
        'polls already (Retry-After: 5); or the database cannot be reached. Retry after Retry-After '
        '(an EventSource does not retry a 503 by itself: open a new one)',
        headers={'Retry-After': header('Whole seconds to wait before trying again')},
    )
    return {
        'parameters': [db],
        'get': dict(
            CHANGES,
            operationId='getChanges',
            summary='The changes of the database: live as Server-Sent Events, or a long poll',
            description='With Accept: text/event-stream, a stream of Server-Sent Events: each change is '
            '`id: <seq>`, `event: change`, `data: {"id", "rev"[, "deleted": true][, "doc"]}`; a '
            '`: heartbeat` comment line after CHANGES_HEARTBEAT seconds of quiet; the server ends a '
            'stream with `event: reset`, data `{"last_seq", "reason"}` (slow-reader, shutdown, '
            'behind) and id that seq: reconnect with Last-Event-ID and nothing is missed. Without '
            'it, a long poll: a JSON page of changes, waiting up to `wait` seconds for one. A key '
            'or token with an id prefix sees the ids of its prefix only; design documents never '
            'appear. Seqs are opaque strings. Answers carry Cache-Control: no-store.',
            parameters=[
                param(
                    'since',
                    'query',
                    SINCE,
                    'Where to start: 0 (the beginning), now, or a seq an earlier event or page gave '
                    '(default: now for a stream, 0 for a long poll)',
                ),
                param(
                    'limit',
                    'query',
                    {'type': 'integer', 'minimum': 1, 'maximum': 1000},
                    'Long poll only: changes per page (default 100)',
                ),
                param(
                    'wait',
                    'query',
                    {'type': 'integer', 'minimum': 0, 'maximum': 25},
                    'Long poll only: seconds to wait for a change when there is none (default 0)',
                ),
                param('include_docs', 'query', {'type': 'boolean'}, 'Each change with its document'),
                param(
                    'access_token',
                    'query',
                    {'type': 'string'},
                    "The bearer (API key or token) as a query parameter, for browsers' EventSource, "
                    'which cannot send Authorization (RFC 6750 §2.3); this route only, never logged. '
                    'Sending it and an Authorization header is a 400.',
                ),
                param(
                    'Last-Event-ID',
                    'header',
                    SINCE,
                    'Stream only: the id of the last event received (an EventSource sends it when it '
                    'reconnects); it overrides `since`',
                ),
            ],
            responses={
                '200': {
                    'description': 'A long poll: {"results": [...], "last_seq"}; page on with '
                    'since=<last_seq>. With Accept: text/event-stream, Server-Sent Events (change, '
                    'reset) and heartbeats, for as long as the client stays.',
                    'headers': {'Cache-Control': _NO_STORE},
                    'content': {
                        'application/json': {'schema': ref('ChangesPage')},
                        'text/event-stream': {'schema': {'type': 'string'}},
                    },
                },
                **problem_answers,
            },
        ),
    }


def changes_schemas() -> dict:
    """A long poll's answer and its changes."""
    return {
        'ChangesPage': {
            'type': 'object',
            'required': ['results', 'last_seq'],
            'properties': {
                'results': {'type': 'array', 'items': ref('Change')},
                'last_seq': {
                    'type': 'string',
                    'description': 'Where the next page starts: send it back as since',
                },
            },
        },
        'Change': {
            'type': 'object',
            'required': ['seq', 'id', 'rev'],
            'properties': {
                'seq': {'type': 'string', 'description': 'Opaque: compare nothing, send it back as since'},
                'id': {'type': 'string'},
                'rev': {'type': 'string', 'description': 'The current rev'},
                'deleted': {'type': 'boolean', 'enum': [True], 'description': 'Present when deleted'},
                'doc': {
                    'type': 'object',
                    'description': 'With include_docs: the document as stored (a deletion: its tombstone)',
                },
            },
        },
    }
