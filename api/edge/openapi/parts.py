"""Building blocks of the OpenAPI document: schemas of ids, revs and keys, response helpers."""

from __future__ import annotations

from api.config import Settings
from api.edge.request_input import MAX_ID_LENGTH, REV_PATTERN

CONTROL = '\\u0000-\\u001f\\u007f'
# 1-1024 characters, none a control character, not starting with "_", and not "." or "..".
DOC_ID_PATTERN = f'^(?:[^_.{CONTROL}][^{CONTROL}]*|\\.[^.{CONTROL}][^{CONTROL}]*|\\.\\.[^{CONTROL}]+)$'
# Keys of a body: none starting with "_"; `extra` lists the exceptions ("_id", "_rev").
FIELD_NAME = '^(?:$|[^_]{extra})'


def ref(name: str) -> dict:
    return {'$ref': f'#/components/schemas/{name}'}


def json_response(schema: dict, description: str = 'OK', **headers: dict) -> dict:
    response = {'description': description, 'content': {'application/json': {'schema': schema}}}
    if headers:
        response['headers'] = headers
    return response


def problems(*statuses: int) -> dict:
    problem = {'application/problem+json': {'schema': ref('Problem')}}
    return {
        str(s): {'description': _PROBLEM_DESCRIPTIONS.get(s, 'A problem'), 'content': problem}
        | ({'headers': _THROTTLED_HEADERS} if s == 429 else {})
        for s in statuses
    }


# What a client may meet that is not obvious from the status alone.
_PROBLEM_DESCRIPTIONS = {
    401: 'No key, or not a valid one (WWW-Authenticate: Bearer)',
    403: 'The key lacks the scope the operation names (insufficient-scope), or may not create this id '
    '(outside-scope)',
    412: 'The rev given (If-Match, or "_rev" in the body) is not the current one: read it again',
    428: 'If-Match (or "_rev" in the body) is required',
    429: "No room for the request: capacity-exceeded (the database's capacity for its request class, "
    "CLOUDANT_CAPACITY), quota-exceeded (the key's quota) or too-many-requests (the database throttled); "
    'nothing was sent for the first two: retry after Retry-After',
    503: 'The database cannot be reached: retry after Retry-After',
    504: 'The database did not answer in time (CLOUDANT_REQUEST_DEADLINE and the read timeout)',
}


def header(description: str, required: bool = True) -> dict:
    return {'description': description, 'required': required, 'schema': {'type': 'string'}}


# The capacity guard's answers (docs/capacity.md): IETF httpapi rate-limit headers draft.
_THROTTLED_HEADERS = {
    'Retry-After': header('Whole seconds until there is room (at least 1)'),
    'RateLimit-Policy': header(
        'With the capacity guard on: the policies that applied, '
        'e.g. "reads";q=100;w=1, "quota-reads";q=20;w=1',
        required=False,
    ),
    'RateLimit': header(
        'With the capacity guard on: what remains of each, e.g. "reads";r=0;t=1', required=False
    ),
}


def body(schema: dict) -> dict:
    return {'required': True, 'content': {'application/json': {'schema': schema}}}


def param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {
        'name': name,
        'in': where,
        'required': required or where == 'path',
        'description': description,
        'schema': schema,
    }


DOC_ID = {'type': 'string', 'minLength': 1, 'maxLength': MAX_ID_LENGTH, 'pattern': DOC_ID_PATTERN}
REV = {'type': 'string', 'pattern': REV_PATTERN}
IF_MATCH = {'type': 'string', 'pattern': REV_PATTERN.replace('^', '^"').replace('$', '"$')}
KEY_PARAM = {'type': 'string', 'maxLength': MAX_ID_LENGTH}
ETAG = header('"<rev>" of the document')
UPSTREAM = (429, 502, 503, 504)
META = {'tags': ['meta']}
DOCUMENTS = {'tags': ['documents']}


def meta_get(operation_id: str, summary: str, ok: dict, *statuses: int, **more: object) -> dict:
    """A path whose one operation is a GET about the service itself (health, docs, metrics)."""
    return {
        'get': dict(
            META,
            operationId=operation_id,
            summary=summary,
            responses={'200': ok, **problems(*statuses)},
            **more,
        )
    }


def database(settings: Settings) -> dict:
    """The `db` path parameter's schema: one of the allowlist, as one named enum for generated clients."""
    if settings.databases:
        return {'type': 'string', 'enum': list(settings.databases), 'description': 'CLOUDANT_DATABASES'}
    return {'type': 'string'}
