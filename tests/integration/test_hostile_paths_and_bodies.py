"""Hostile document ids, paths, databases and bodies through the real app against the real server.

Every row states the answer it must get and where upstream it may go (tests/support/hostile_input.py);
after the table, the database holds exactly the documents the accepted rows wrote, and no other
database changed. Keys, query values, revs, methods, routes and request ids:
test_hostile_keys_and_parameters.py.
"""

from tests.integration.test_hostile_keys_and_parameters import ROWS as KEY_AND_PARAMETER_ROWS
from tests.support.hostile_input import JSON, MiB, Row, assert_answered, body, deep, put

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
]


def test_at_least_forty_hostile_inputs_are_in_the_tables():
    rows = ROWS + KEY_AND_PARAMETER_ROWS
    assert len(rows) >= 40 and len({row.name for row in rows}) == len(rows)


def test_hostile_ids_paths_and_bodies_get_their_answer_and_reach_nothing_else(
    client, front, db, make_db, couch_admin, capsys
):
    assert_answered(ROWS, client, front, db, make_db(), couch_admin)
    with capsys.disabled():
        print(f'\nhostile ids, paths and bodies tried: {len(ROWS)}')
