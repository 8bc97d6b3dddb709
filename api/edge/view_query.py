"""A view query's parameters, checked against the view (has it a reduce?) before anything goes upstream."""

from __future__ import annotations

import json

import falcon

from api.edge.request_input import bool_param, int_param
from api.edge.wtf8 import query_value
from api.errors import Problem
from api.upstream.couch import ViewQuery

PARAMETERS = (
    'key',
    'start_key',
    'end_key',
    'start_key_doc_id',
    'limit',
    'descending',
    'include_docs',
    'reduce',
    'group',
    'group_level',
)
MAX_KEYS = 1000
# A JSON key in the query string (a next link repeats a row's key); the request line allows 32 KiB.
MAX_KEY_CHARACTERS = 8192


def view_query(req: falcon.Request, has_reduce: bool, keys: list | None = None) -> ViewQuery:
    """The query of GET (or, with `keys`, of POST) on a view; a 400 problem names what is wrong."""
    unknown = sorted(set(req.params) - set(PARAMETERS))
    if unknown:
        _invalid(unknown[0], f'It is not a view parameter (they are: {", ".join(PARAMETERS)}).')
    json_keys = {name: _json_param(req, name) for name in ('key', 'start_key', 'end_key')}
    doc_id = query_value(req, 'start_key_doc_id', _text_param(req, 'start_key_doc_id'))
    limit = int_param(req, 'limit', default=25, minimum=1, maximum=1000)
    reduce_given = req.get_param('reduce') is not None
    reduced = has_reduce and (bool_param(req, 'reduce') or not reduce_given)
    group, group_level = bool_param(req, 'group'), _group_level(req)
    if reduce_given and bool_param(req, 'reduce') and not has_reduce:
        _invalid('reduce', 'The view has no reduce function: leave reduce out, or set it to false.')
    if (group or group_level is not None) and not reduced:
        name = 'group' if group else 'group_level'
        why = 'reduce=false asks for map rows' if has_reduce else 'the view has no reduce function'
        _invalid(name, f'Grouping needs reduced rows, and {why}.')
    if req.get_param('group') is not None and not group and group_level is not None:
        _invalid('group_level', 'It cannot go with group=false.')
    if reduced and bool_param(req, 'include_docs'):
        _invalid('include_docs', 'Reduced rows have no documents: add reduce=false.')
    if doc_id is not None and (reduced or json_keys['start_key'] is None):
        _invalid('start_key_doc_id', 'It needs start_key, and map rows (reduce=false if the view reduces).')
    if json_keys['key'] is not None and (json_keys['start_key'] or json_keys['end_key']):
        _invalid('key', 'It cannot go with start_key or end_key (key is both).')
    if keys is not None and (json_keys['key'] or json_keys['start_key'] or json_keys['end_key'] or doc_id):
        _invalid('keys', 'A query by keys takes no key, start_key, end_key or start_key_doc_id.')
    if keys is not None and reduced and not group and group_level is None:
        # CouchDB refuses it too ("multi-key fetches for reduce views must use group=true").
        _invalid('group', 'Keys of a view that reduces need group=true (or reduce=false for map rows).')
    params: dict[str, str] = {}
    if json_keys['key'] is not None:
        params['start_key'] = params['end_key'] = json_keys['key']
    params.update({k: v for k, v in json_keys.items() if k != 'key' and v is not None})
    if doc_id is not None:
        params['start_key_doc_id'] = json.dumps(doc_id)
    for name in ('descending', 'include_docs', 'group'):
        if bool_param(req, name):
            params[name] = 'true'
    if has_reduce and not reduced:
        params['reduce'] = 'false'
    if group_level is not None:
        params['group_level'] = str(group_level)
    if keys is not None:
        params['keys'] = json.dumps(keys)
    return ViewQuery(params, limit, paged=not reduced and keys is None)


def body_keys(body: dict) -> list:
    """The `keys` of a POST body: 1 to 1000 JSON values, and nothing else in the body."""
    if set(body) != {'keys'}:
        extra = sorted(set(body) - {'keys'})
        raise _body_problem(f'"{extra[0]}" is not a field (the body is {{"keys": [...]}})' if extra else None)
    keys = body['keys']
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise _body_problem(f'"keys" must be a list of 1 to {MAX_KEYS} JSON values')
    return keys


def _body_problem(detail: str | None) -> Problem:
    return Problem(400, 'invalid-body', (detail or 'The body must be {"keys": [...]}') + '.')


def _text_param(req: falcon.Request, name: str) -> str | None:
    values = req.get_param_as_list(name)
    if not values:
        return None
    if len(values) > 1:
        _invalid(name, 'It is given more than once.')
    if len(values[0]) > MAX_KEY_CHARACTERS:
        _invalid(name, f'It has more than {MAX_KEY_CHARACTERS} characters.')
    return values[0]


def _json_param(req: falcon.Request, name: str) -> str | None:
    raw = query_value(req, name, _text_param(req, name))
    if raw is None:
        return None
    try:
        json.loads(raw, parse_constant=_not_json)
        raw.encode('utf-8')  # a lone surrogate goes upstream escaped, as JSON allows, not raw
    except (ValueError, RecursionError):
        _invalid(name, 'It must be a JSON value, as view keys are: e.g. "thai" (quoted), 42 or ["thai", 4].')
    return raw


def _not_json(constant: str) -> None:
    raise ValueError(f'{constant} is not JSON')


def _group_level(req: falcon.Request) -> int | None:
    if req.get_param('group_level') is None:
        return None
    return int_param(req, 'group_level', default=0, minimum=0, maximum=1000)


def _invalid(name: str, detail: str) -> None:
    raise falcon.HTTPInvalidParam(detail, name)
