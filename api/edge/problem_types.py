"""Every problem type the API answers with: when it happens and what to do (served at /problems/{name})."""

from __future__ import annotations

from typing import NamedTuple


class ProblemType(NamedTuple):
    """One problem type: its usual status, when it happens, and what a client should do."""

    status: int
    when: str
    todo: str


_RETRY = 'Retry later, with backoff; the request id in the problem finds it in the log.'
_FIX = 'Correct the request as the detail says, then send it again.'

PROBLEM_TYPES: dict[str, ProblemType] = {
    'bad-request': ProblemType(400, 'The request is malformed, or the database refused it.', _FIX),
    'invalid-parameter': ProblemType(400, 'A query parameter is repeated, too long or out of range.', _FIX),
    'invalid-since': ProblemType(
        400,
        'The `since` of a changes request (or its Last-Event-ID) is not 0, now, or a seq this database gave.',
        'Start again from 0 or now, or from the last seq an event or page gave.',
    ),
    'invalid-body': ProblemType(400, 'The body is valid JSON but not a JSON object.', 'Send a JSON object.'),
    'invalid-json': ProblemType(
        400,
        'The body is not strict UTF-8 JSON: a syntax error, NaN or Infinity, a number beyond ±(2**53-1), '
        'or a lone UTF-16 surrogate.',
        _FIX,
    ),
    'duplicate-key': ProblemType(
        400, 'A JSON object in the body names one key twice.', 'Send each key once.'
    ),
    'nesting-too-deep': ProblemType(400, 'The body nests objects and arrays too deeply.', 'Flatten it.'),
    'reserved-field': ProblemType(
        400,
        'The body has a field starting with "_" that the API does not accept there ("_rev" in a new '
        'document, or any other than "_id" and "_rev").',
        'Leave the field out.',
    ),
    'id-mismatch': ProblemType(400, '"_id" in a PUT body is not the id in the path.', 'Send the same id.'),
    'rev-mismatch': ProblemType(
        400, '"_rev" in a PUT body and the If-Match rev differ.', 'Send one rev, or the same in both.'
    ),
    'invalid-document-id': ProblemType(
        400,
        'The id is empty, longer than 1024 characters, starts with "_", holds a control character, or is '
        '"." or "..".',
        'Use another id.',
    ),
    'invalid-encoding': ProblemType(400, 'The request target is not valid percent-encoded UTF-8.', _FIX),
    'invalid-rev': ProblemType(400, '"_rev" in a body is not a rev ("<number>-<hash>").', _FIX),
    'invalid-if-match': ProblemType(
        400,
        'If-Match is not exactly one strong entity tag holding a rev ("1-abc…").',
        'Send the ETag as read.',
    ),
    'invalid-chunked-body': ProblemType(
        400,
        'A chunked request body is malformed (a chunk size that is not hexadecimal, a line without '
        'CRLF) or ended before its last chunk.',
        'Send a well-formed chunked body, or the body with Content-Length.',
    ),
    'invalid-request-line': ProblemType(
        400, 'The request line is not METHOD TARGET HTTP/1.x ending with CRLF.', _FIX
    ),
    'invalid-header': ProblemType(
        400, 'A header field is malformed, repeated where it must not be, or folded.', _FIX
    ),
    'missing-host': ProblemType(400, 'An HTTP/1.1 request came without a Host header.', 'Send Host.'),
    'unsupported-http-version': ProblemType(
        400, 'The request line names an HTTP version other than 1.0 and 1.1.', 'Speak HTTP/1.1.'
    ),
    'sort-needs-index': ProblemType(
        400,
        'A query sorts on fields that no index of the database covers.',
        'Sort on indexed fields, or leave "sort" out.',
    ),
    'invalid-query': ProblemType(400, 'The Mango query has an unknown or ill-typed field.', _FIX),
    'duplicate-id': ProblemType(
        400,
        'A bulk write names one id in more than one item; none of them is written.',
        'Send one change per document per batch.',
    ),
    'invalid-idempotency-key': ProblemType(
        400, 'Idempotency-Key is not 1-255 printable ASCII characters.', 'Send a UUID, quoted or not.'
    ),
    'unauthorized': ProblemType(
        401,
        'The request needs an API key, or the key given is not valid.',
        'Send Authorization: Bearer <key>.',
    ),
    'invalid-token': ProblemType(
        401,
        'The bearer is a token (a JWT) that was refused: expired, not yet valid, the wrong audience, '
        'from an unknown issuer, signed with an unknown key or a bad signature, with an algorithm or a '
        '"crit" header not allowed, or too large (over 8 KiB). WWW-Authenticate\'s error_description '
        'names the check.',
        'Sign in again to get a fresh token from the identity provider, then send it as '
        'Authorization: Bearer <token>.',
    ),
    'forbidden': ProblemType(403, 'The request is not allowed.', 'Ask the operator for access.'),
    'no-keys-configured': ProblemType(
        403,
        'The request needs an API key (a write, a query or an export) and couchgate has none configured, '
        'so it is refused.',
        'The operator sets API_KEYS.',
    ),
    'insufficient-scope': ProblemType(
        403,
        'The API key is valid but lacks the scope this request needs (read, query, export or write); '
        'WWW-Authenticate names it.',
        'Use a key with that scope, or ask the operator to add it to the key in API_KEYS.',
    ),
    'outside-scope': ProblemType(
        403,
        'The API key may only create documents whose id starts with its prefix (`id_prefix`), and the '
        'id given does not.',
        'Choose an id that starts with the prefix, or POST without "_id" to get one.',
    ),
    'view-outside-scope': ProblemType(
        403,
        'The API key may only see ids with its prefix (`id_prefix`), and a view spans the whole database.',
        'Use a key without a prefix for views, or list and find within the prefix.',
    ),
    'not-found': ProblemType(
        404,
        'No such document, route or file, or no such view in design/ (views and indexes as code).',
        'Check the path, the id or the view name.',
    ),
    'unknown-database': ProblemType(
        404, 'The database is not on the allowlist (CLOUDANT_DATABASES).', 'Use an allowed database.'
    ),
    'method-not-allowed': ProblemType(405, 'The route does not answer this method.', 'See the Allow header.'),
    'not-acceptable': ProblemType(406, 'No representation matches the Accept header.', 'Accept JSON.'),
    'request-timeout': ProblemType(408, 'The request did not arrive in time.', 'Send it again, promptly.'),
    'expectation-failed': ProblemType(
        417, 'An Expect header other than 100-continue.', 'Leave Expect out, or send 100-continue.'
    ),
    'conflict': ProblemType(
        409, 'A document with this id exists already.', 'Read it, then update it with If-Match.'
    ),
    'deleted': ProblemType(
        409,
        'A bulk update or delete names a document that was deleted since (the detail gives its last rev).',
        'Create it again without "_rev", or leave it deleted.',
    ),
    'idempotency-key-in-use': ProblemType(
        409,
        'A request with this Idempotency-Key is still being processed (by any worker).',
        'Wait Retry-After seconds and send the same request again: it then gets the first answer.',
    ),
    'length-required': ProblemType(411, 'A body was sent without Content-Length.', 'Send Content-Length.'),
    'precondition-failed': ProblemType(
        412,
        'The rev given (If-Match, or "_rev" in the body) is not the current rev of the document.',
        'Read the document again (its ETag is the current rev), merge, and retry with that rev.',
    ),
    'payload-too-large': ProblemType(
        413, 'The body is larger than API_MAX_BODY_BYTES, or than the database accepts.', 'Send less.'
    ),
    'too-many-items': ProblemType(
        413, 'A bulk write or a lookup names more than 1,000 documents.', 'Send them in several requests.'
    ),
    'lookup-too-large': ProblemType(
        413,
        'The documents a lookup names hold more than API_MAX_PAGE_BYTES together; nothing is answered '
        'beyond that, so memory per request stays bounded.',
        'Ask for fewer ids at a time.',
    ),
    'idempotency-key-reused': ProblemType(
        422,
        'The Idempotency-Key was used before with another request (another body or another route).',
        'Use a new key for a new request.',
    ),
    'uri-too-long': ProblemType(414, 'The request target is too long.', 'Shorten the id or the query.'),
    'unsupported-media-type': ProblemType(
        415, 'The body is not application/json.', 'Send Content-Type: application/json.'
    ),
    'precondition-required': ProblemType(
        428,
        'The document exists (or is being deleted) and no rev was given.',
        'Send If-Match with its current ETag (or "_rev" in a PUT body).',
    ),
    'too-many-requests': ProblemType(
        429, 'The database is throttling requests.', 'Wait Retry-After seconds.'
    ),
    'too-many-streams': ProblemType(
        503,
        'This worker already serves CHANGES_MAX_STREAMS change streams and long polls.',
        'Retry after the Retry-After seconds (a browser opens a new EventSource then, with `since` the '
        'last event id: an EventSource does not retry a 503 by itself).',
    ),
    'capacity-exceeded': ProblemType(
        429,
        "The database's capacity for this request class (reads, writes or global queries per second) "
        'is spent, and no room came within CLOUDANT_QUEUE_MAX_WAIT; nothing was sent to the database.',
        'Wait Retry-After seconds; the RateLimit header says what remains.',
    ),
    'quota-exceeded': ProblemType(
        429,
        "The API key's quota for this request class (per second) is spent; nothing was sent to the database.",
        'Wait Retry-After seconds, or ask for a larger quota.',
    ),
    'header-fields-too-large': ProblemType(
        431, 'The request headers are too large.', 'Send smaller headers.'
    ),
    'internal-error': ProblemType(500, 'An unexpected error in couchgate.', _RETRY),
    'not-implemented': ProblemType(501, 'The method is not implemented by couchgate.', 'Use another method.'),
    'bad-gateway': ProblemType(502, 'The database answered something couchgate cannot use.', _RETRY),
    'upstream-auth': ProblemType(
        502, "The database refused couchgate's credentials.", 'Tell the operator; retrying will not help.'
    ),
    'upstream-unavailable': ProblemType(
        503, 'The database cannot be reached, or TLS with it failed.', 'Wait Retry-After seconds.'
    ),
    'upstream-timeout': ProblemType(
        504,
        'The database did not answer in time. A write may have been applied.',
        'Read the document back before repeating a write; then retry.',
    ),
    'error': ProblemType(0, 'An HTTP error with no more specific type.', _FIX),
}
