"""Hostile keys, query values, revs, methods, routes and request ids through the real app against the
real server.

Every row states the answer it must get and where upstream it may go (tests/support/hostile_input.py);
none may write: after the table, the database holds only the document the test put there, and no other
database changed. Ids, paths, databases and bodies: test_hostile_paths_and_bodies.py.
"""

from tests.support.api_keys import TEST_KEY
from tests.support.hostile_input import Row, assert_answered

ROWS = [
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


def test_hostile_keys_and_parameters_get_their_answer_and_reach_nothing_else(
    client, front, db, make_db, couch_admin, capsys
):
    assert_answered(ROWS, client, front, db, make_db(), couch_admin)
    with capsys.disabled():
        print(f'\nhostile keys and parameters tried: {len(ROWS)}')
