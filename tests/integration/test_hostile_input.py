"""Hostile and malformed input through the real app against the real server (behind the TLS front).

Every row states the answer it must get (status and problem type) and where upstream it may go.
After the table, the allowed database must hold exactly the documents the accepted rows wrote,
and no other database on the server may have changed.
"""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import quote, unquote_to_bytes

from falcon import testing

from tests.support.api_keys import TEST_KEY

MiB = 1024 * 1024
JSON = {'Content-Type': 'application/json'}
EXISTING = {'_id': 'existing', 'v': 1}


@dataclasses.dataclass
class Row:
    name: str
    method: str
    path: str  # under /v1/{db}; a leading '!' means an absolute path
    status: int
    problem: str | None = None  # expected problem type, None for a success
    body: object = None  # bytes as is, anything else as JSON
    headers: dict = dataclasses.field(default_factory=dict)
    anonymous: bool = False  # sent without the test key
    upstream: str | None = None  # the only upstream path (no query) it may reach; None: no request at all
    stores: str | None = None  # the document id this row creates
    extras: dict = dataclasses.field(default_factory=dict)  # WSGI environ entries


def put(name, doc_id, body=None, status=201, problem=None, **kw):
    """A PUT of a document whose id arrives percent-encoded, as a client would send it."""
    upstream = kw.pop('upstream', doc_id if status < 500 and problem in (None, 'not-found') else None)
    return Row(
        name,
        'PUT',
        f'/docs/{quote(doc_id, safe="")}',
        status,
        problem,
        body={'who': doc_id} if body is None else body,
        upstream=upstream,
        stores=doc_id if status == 201 else None,
        **kw,
    )


def body(name, payload, status=400, problem='invalid-json', headers=JSON, **kw):
    return Row(name, 'PUT', '/docs/body-target', status, problem, body=payload, headers=headers, **kw)


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b'1' + b'}' * levels


ROWS = [
    # Ids that try to leave the document, the database or the path.
    put('dotdot-slash-users', '../_users'),
    put('encoded-dotdot-as-literal-id', '%2e%2e%2f_users'),
    put('dotdot-chain-to-all-dbs', 'a/../../_all_dbs'),
    put('query-in-id', 'doc?x=1'),
    put('fragment-in-id', 'doc#x'),
    put('three-dots', '...'),
    put('slash-only', '/'),
    put('double-slash', '//x'),
    put('space-then-underscore', ' _design'),
    put('unicode-and-astral', 'é😀'),
    put('dot-segment', '..', status=400, problem='invalid-document-id'),
    put('single-dot', '.', status=400, problem='invalid-document-id'),
    put('nul-byte', '\x00', status=400, problem='invalid-document-id'),
    put('crlf-header-injection', 'x\r\nSet-Cookie: a=b', status=400, problem='invalid-document-id'),
    put('ten-kb-id', 'x' * 10240, status=400, problem='invalid-document-id'),
    put('design-doc', '_design/evil', body={'views': {}}, status=400, problem='invalid-document-id'),
    put('local-doc', '_local/x', status=400, problem='invalid-document-id'),
    Row('decoded-dotdot-path', 'GET', '/docs/../_users', 200, upstream='../_users'),  # the row above made it
    Row('get-all-docs-as-id', 'GET', '/docs/_all_docs', 400, 'invalid-document-id'),
    Row(
        'delete-local-doc',
        'DELETE',
        '/docs/_local/x',
        400,
        'invalid-document-id',
        headers={'If-Match': '"1-a"'},
    ),
    Row('overlong-utf8-dots', 'GET', '/docs/%C0%AE%C0%AE%2F_users', 400, 'invalid-encoding'),
    Row('invalid-utf8-id', 'GET', '/docs/%FF', 400, 'invalid-encoding'),
    Row('empty-id', 'GET', '/docs/', 400, 'invalid-document-id'),
    # Databases off the allowlist: 404 before any upstream request.
    Row('system-db', 'GET', '!/v1/_users/docs', 404, 'unknown-database'),
    Row(
        'encoded-system-db', 'PUT', '!/v1/%5Fusers/docs/org.couchdb.user:x', 404, 'unknown-database', body={}
    ),
    Row('replicator-db', 'POST', '!/v1/_replicator/docs', 404, 'unknown-database', body={'a': 1}),
    Row('other-existing-db', 'GET', '!/v1/{other}/docs/keep', 404, 'unknown-database'),
    Row('db-dot-segments', 'GET', '!/v1/{db}/../_users/docs', 404, 'not-found'),
    # Bodies.
    body('not-json', b'not json'),
    body('empty-body', b''),
    body('truncated-json', b'{"a":'),
    body('invalid-utf8', b'{"a": "\xff\xfe"}'),
    body('utf16-with-bom', '{"a": 1}'.encode('utf-16')),
    body('duplicate-keys', b'{"a": 1, "a": 2}', problem='duplicate-key'),
    body('nested-33-deep', deep(33), problem='nesting-too-deep'),
    body('nested-100000-deep', b'[' * 100_000 + b']' * 100_000, problem='nesting-too-deep'),
    body('nan', b'{"a": NaN}'),
    body('infinity-by-overflow', b'{"a": 1e999}'),
    body('integer-beyond-2-53', b'{"a": 9007199254740993}'),
    body('five-thousand-digits', b'{"a": ' + b'9' * 5000 + b'}'),
    body('lone-surrogate', b'{"a": "\\ud800"}'),
    body('array-body', b'[1, 2]', problem='invalid-body'),
    body('string-body', b'"text"', problem='invalid-body'),
    body('null-body', b'null', problem='invalid-body'),
    body('deleted-flag', {'_deleted': True}, problem='reserved-field'),
    body('attachments', {'_attachments': {'x': {'data': 'eA=='}}}, problem='reserved-field'),
    body('id-mismatch', {'_id': 'other'}, problem='id-mismatch'),
    body(
        'text-plain',
        b'{"a": 1}',
        status=415,
        problem='unsupported-media-type',
        headers={'Content-Type': 'text/plain'},
    ),
    body(
        'form-encoded',
        b'a=1',
        status=415,
        problem='unsupported-media-type',
        headers={'Content-Type': 'application/x-www-form-urlencoded'},
    ),
    body('no-content-type', b'{"a": 1}', status=415, problem='unsupported-media-type', headers={}),
    body(
        'latin1-charset',
        b'{"a": 1}',
        status=415,
        problem='unsupported-media-type',
        headers={'Content-Type': 'application/json; charset=latin-1'},
    ),
    body('over-one-mib', b'{"a": "' + b'x' * MiB + b'"}', status=413, problem='payload-too-large'),
    body(
        'chunked-over-limit',
        b'{"a": "' + b'x' * MiB + b'"}',
        status=413,
        problem='payload-too-large',
        headers=dict(JSON, **{'Transfer-Encoding': 'chunked'}),
        extras={'CONTENT_LENGTH': '', 'wsgi.input_terminated': True},
    ),
    body(
        'chunked-without-end-signal',
        b'{"a": 1}',
        status=411,
        problem='length-required',
        headers=dict(JSON, **{'Transfer-Encoding': 'chunked'}),
        extras={'CONTENT_LENGTH': ''},
    ),
    body(
        'length-and-chunked',
        b'{"a": 1}',
        problem='bad-request',
        headers=dict(JSON, **{'Transfer-Encoding': 'chunked'}),
        extras={'wsgi.input_terminated': True},
    ),
    body(
        'gzip-transfer-coding',
        b'{"a": 1}',
        status=501,
        problem='not-implemented',
        headers=dict(JSON, **{'Transfer-Encoding': 'gzip, chunked'}),
    ),
    # Keys.
    Row('write-without-key', 'PUT', '/docs/nokey', 401, 'unauthorized', body={'a': 1}, anonymous=True),
    Row(
        'write-with-wrong-key',
        'PUT',
        '/docs/badkey',
        401,
        'unauthorized',
        body={'a': 1},
        anonymous=True,
        headers={'Authorization': 'Bearer wrong-key-0123456789abcdef'},
    ),
    Row(
        'key-with-extra-byte',
        'DELETE',
        '/docs/existing',
        401,
        'unauthorized',
        anonymous=True,
        headers={'Authorization': f'Bearer {TEST_KEY}x', 'If-Match': '"1-a"'},
    ),
    Row(
        'basic-auth-instead',
        'POST',
        '/docs',
        401,
        'unauthorized',
        body={'a': 1},
        anonymous=True,
        headers={'Authorization': 'Basic dGVzdHM6dGVzdA=='},
    ),
    Row('find-without-key', 'POST', '/find', 401, 'unauthorized', body={'selector': {}}, anonymous=True),
    Row(
        'read-with-wrong-key',
        'GET',
        '/docs/existing',
        401,
        'unauthorized',
        anonymous=True,
        headers={'Authorization': 'Bearer nope'},
    ),
    Row('public-read-without-key', 'GET', '/docs/existing', 200, anonymous=True, upstream='existing'),
    # Query values.
    *[
        Row(f'limit={v}', 'GET', f'/docs?limit={v}', 400, 'invalid-parameter')
        for v in ['-1', '0', '1001', 'abc', '1e3', '99999999999999999999', '1&limit=2']
    ],
    Row('include-docs-yes', 'GET', '/docs?include_docs=yes', 400, 'invalid-parameter'),
    Row('ten-kb-start-key', 'GET', '/docs?start_key=' + 'k' * 10240, 400, 'invalid-parameter'),
    Row('invalid-utf8-query', 'GET', '/docs?start_key=%C0%AE', 400, 'invalid-encoding'),
    Row('nul-start-key', 'GET', '/docs?start_key=%00&limit=5', 200, upstream='_all_docs'),
    Row('selector-string', 'POST', '/find', 400, 'invalid-query', body={'selector': 'x'}),
    Row('find-negative-limit', 'POST', '/find', 400, 'invalid-query', body={'selector': {}, 'limit': -1}),
    Row('find-huge-limit', 'POST', '/find', 400, 'invalid-json', body={'selector': {}, 'limit': 10**30}),
    Row('find-unknown-field', 'POST', '/find', 400, 'invalid-query', body={'selector': {}, 'skip': 1}),
    Row('find-limit-as-string', 'POST', '/find', 400, 'invalid-query', body={'selector': {}, 'limit': '10'}),
    Row(
        'find-fields-not-a-list', 'POST', '/find', 400, 'invalid-query', body={'selector': {}, 'fields': 'a'}
    ),
    Row('find-bookmark-number', 'POST', '/find', 400, 'invalid-query', body={'selector': {}, 'bookmark': 7}),
    Row('post-id-not-a-string', 'POST', '/docs', 400, 'invalid-document-id', body={'_id': 5}),
    Row('post-with-a-rev', 'POST', '/docs', 400, 'reserved-field', body={'_id': 'r', '_rev': '1-a'}),
    Row(
        'find-unknown-operator',
        'POST',
        '/find',
        400,
        'bad-request',
        body={'selector': {'n': {'$bad': 1}}},
        upstream='_find',
    ),
    # Revs, methods, routes, request ids.
    Row('if-match-star', 'DELETE', '/docs/existing', 400, 'invalid-if-match', headers={'If-Match': '*'}),
    Row(
        'if-match-weak', 'DELETE', '/docs/existing', 400, 'invalid-if-match', headers={'If-Match': 'W/"1-a"'}
    ),
    Row(
        'if-match-path-in-rev',
        'DELETE',
        '/docs/existing',
        400,
        'invalid-if-match',
        headers={'If-Match': '"1-a/../../_users"'},
    ),
    Row(
        'if-match-two-revs',
        'PUT',
        '/docs/existing',
        400,
        'invalid-if-match',
        body={'v': 2},
        headers={'If-Match': '"1-a", "2-b"'},
    ),
    Row(
        'stale-rev-put',
        'PUT',
        '/docs/existing',
        412,
        'precondition-failed',
        upstream='existing',
        body={'v': 2},
        headers={'If-Match': '"1-0000"'},
    ),
    Row('patch-not-allowed', 'PATCH', '/docs', 405, 'method-not-allowed', body={'a': 1}),
    Row('unknown-route', 'GET', '/nope', 404, 'not-found'),
    Row(
        'request-id-header-injection',
        'GET',
        '!/healthz',
        200,
        headers={'X-Request-ID': 'a\r\nSet-Cookie: x=1'},
    ),
]


def test_at_least_forty_hostile_inputs_are_in_the_table():
    assert len(ROWS) >= 40 and len({row.name for row in ROWS}) == len(ROWS)


def _snapshot(couch_admin, skip: str) -> dict:
    names = [n for n in couch_admin.get('_all_dbs').json() if n != skip]
    return {
        n: {k: couch_admin.get(quote(n, safe='')).json()[k] for k in ('doc_count', 'update_seq')}
        for n in names
    }


def _send(client, anonymous_client, row: Row, db: str, other: str):
    path = row.path[1:].format(db=db, other=other) if row.path.startswith('!') else f'/v1/{db}{row.path}'
    path, _, query = path.partition('?')
    # As gunicorn does: PATH_INFO holds the percent-decoded bytes as latin-1, valid UTF-8 or not.
    extras = dict(row.extras, PATH_INFO=unquote_to_bytes(path).decode('latin-1'))
    headers = dict(row.headers)
    data = row.body
    if data is not None and not isinstance(data, bytes):
        data = json.dumps(data).encode()
        headers.setdefault('Content-Type', 'application/json')
    return (anonymous_client if row.anonymous else client).simulate_request(
        row.method, path, query_string=query or None, body=data, headers=headers, extras=extras
    )


def test_hostile_inputs_get_their_answer_and_reach_nothing_else(
    client, front, db, make_db, couch_admin, capsys
):
    other = make_db()
    assert couch_admin.put(f'{db}/existing', json=EXISTING).status_code == 201
    assert couch_admin.put(f'{other}/keep', json={'v': 1}).status_code == 201
    before = _snapshot(couch_admin, skip=db)
    anonymous = testing.TestClient(client.app)  # the same app, without the test key

    failures = []
    for row in ROWS:
        front.reset()
        result = _send(client, anonymous, row, db, other)
        is_problem = result.headers.get('content-type') == 'application/problem+json'
        problem = result.json.get('type') if is_problem else None
        expected = f'/problems/{row.problem}' if row.problem else None
        if (result.status_code, problem) != (row.status, expected):
            failures.append(f'{row.name}: got {result.status_code} {problem}, want {row.status} {expected}')
        paths = {r.path.split('?')[0] for r in front.requests}
        want = set() if row.upstream is None else {f'/{db}/{quote(row.upstream, safe="")}'}
        if paths != want:
            failures.append(f'{row.name}: upstream {paths}, want {want}')
        if result.status_code == 401 and 'Bearer' not in result.headers.get('www-authenticate', ''):
            failures.append(f'{row.name}: 401 without WWW-Authenticate: Bearer')
        if row.status == 405 and 'GET' not in result.headers.get('allow', ''):
            failures.append(f'{row.name}: 405 without Allow')
        if 'set-cookie' in result.headers or result.headers['x-request-id'] == row.headers.get(
            'X-Request-ID'
        ):
            failures.append(f'{row.name}: a header was injected')
    assert not failures, '\n'.join(failures)
    with capsys.disabled():
        print(f'\nhostile inputs tried: {len(ROWS)}')

    stored = couch_admin.get(f'{db}/_all_docs', params={'include_docs': 'true'}).json()['rows']
    expected = {row.stores: {'who': row.stores} for row in ROWS if row.stores} | {'existing': {'v': 1}}
    assert {r['id']: {k: v for k, v in r['doc'].items() if not k.startswith('_')} for r in stored} == expected
    assert _snapshot(couch_admin, skip=db) == before
