"""Scope-escape attempts through the real app against the real server: each row states the answer
it must get, and whether it may reach the upstream at all.

Every upstream request the TLS front saw must stay in the key's database and, for the prefix key
(tenant, ids starting with t7:), inside the prefix's id range; each listing or query it saw is sent
again, directly, and not one row of that answer may fall outside the prefix
(tests/support/scoped_keys.py). The answer the client got is checked the same way.
"""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import quote

import pytest

from tests.support.scoped_keys import PREFIX, api_keys, assert_upstream_within, bearer

# What the database holds besides the tenant's own documents: look-alikes below, above, around.
OUTSIDE = ['plain', 'T7:x', 't7', 't7;x', 't8:x', 's7:x', 't7%3Ahidden', 't7\uff1adoc', ' t7:doc', 'u']
INSIDE = [f'{PREFIX}doc', f'{PREFIX}a', f'{PREFIX}z', f'{PREFIX}../plain', f'{PREFIX}\uffff', PREFIX]


@dataclasses.dataclass
class Row:
    """One attempt, the answer it must get, and whether any upstream request may follow."""

    name: str
    method: str
    path: str  # under /v1/{db}; '!' : absolute ({other} is another database)
    status: int
    problem: str | None = None
    body: object = None
    who: str = 'tenant'
    upstream: bool = False
    headers: dict = dataclasses.field(default_factory=dict)


def doc(doc_id: str) -> str:
    return '/docs/' + quote(doc_id, safe='')


def get(name, doc_id, status=404, problem='not-found', **kw):
    return Row(name, 'GET', doc(doc_id), status, problem, **kw)


def listing(name, query, **kw):
    query = query if 'limit=' in query else f'limit=1000&{query}'
    return Row(name, 'GET', f'/docs?{query}', 200, upstream=kw.pop('upstream', True), **kw)


def export(name, query, **kw):
    return Row(name, 'GET', f'/export?{query}', 200, upstream=kw.pop('upstream', True), **kw)


def find(name, selector, **kw):
    body = {'selector': selector, 'limit': 1000, **kw.pop('extra', {})}
    return Row(name, 'POST', '/find', 200, body=body, upstream=True, **kw)


IF_MATCH = {'If-Match': '"1-abc"'}
ROWS = [
    # Ids that look like the prefix, or hide it: 404, never asked upstream.
    get('get-upper-case', 'T7:x'),
    get('get-prefix-without-colon', 't7'),
    get('get-semicolon-for-colon', 't7;x'),
    get('get-next-tenant', 't8:x'),
    get('get-just-below', 's7:x'),
    get('get-fullwidth-colon', 't7\uff1adoc'),
    get('get-leading-space', ' t7:doc'),
    get('get-prefix-literally-percent-encoded', 't7%3Ahidden'),  # the id holds "%3A": not the prefix
    get('get-dotdot-before-prefix', '../t7:doc'),
    Row('get-dotdot-raw-path', 'GET', '/docs/../docs/plain', 404, 'not-found'),
    Row('get-dotdot-up-to-the-database', 'GET', '/docs/t7%3A/../../plain', 404, 'not-found', upstream=True),
    get('get-control-character', 't7:\x00', status=400, problem='invalid-document-id'),
    # The prefix percent-encoded is the prefix: served, one request, inside it.
    get('get-percent-encoded-prefix', 't7:doc', status=200, problem=None, upstream=True),
    Row('get-fully-percent-encoded', 'GET', '/docs/%74%37%3Adoc', 200, upstream=True),
    get('get-dotdot-inside-prefix', 't7:../plain', status=200, problem=None, upstream=True),
    # Writes outside: an update is a missing document, a create is refused; nothing goes upstream.
    Row('delete-outside', 'DELETE', doc('plain'), 404, 'not-found', headers=IF_MATCH),
    Row('put-update-outside', 'PUT', doc('plain'), 404, 'not-found', body={'a': 1}, headers=IF_MATCH),
    Row('put-update-outside-rev-in-body', 'PUT', doc('plain'), 404, 'not-found', body={'_rev': '1-abc'}),
    Row('put-create-outside', 'PUT', doc('new'), 403, 'outside-scope', body={'a': 1}),
    Row('put-create-look-alike', 'PUT', doc('T7:new'), 403, 'outside-scope', body={'a': 1}),
    Row('put-body-id-elsewhere', 'PUT', doc('t7:new'), 400, 'id-mismatch', body={'_id': 'plain'}),
    Row('post-id-outside', 'POST', '/docs', 403, 'outside-scope', body={'_id': 'plain2'}),
    Row('post-id-look-alike', 'POST', '/docs', 403, 'outside-scope', body={'_id': 't7;y'}),
    Row('post-id-percent-encoded-prefix', 'POST', '/docs', 403, 'outside-scope', body={'_id': 't7%3Ay'}),
    Row('post-without-id', 'POST', '/docs', 201, body={'a': 1}, upstream=True),
    # Listings: whatever range the client asks for, the upstream range stays inside the prefix.
    listing('list-everything', ''),
    listing('list-start-below', 'start_key=a'),
    listing('list-end-above', 'end_key=zzz'),
    listing('list-start-above', 'start_key=t8', upstream=False),
    listing('list-end-below', 'end_key=t7', upstream=False),
    listing('list-start-look-alike', 'start_key=t7%3B', upstream=False),
    listing('list-reversed-range', 'start_key=t7%3Az&end_key=t7%3Aa', upstream=False),
    listing('list-around-the-prefix', 'start_key=s&end_key=u&include_docs=true'),
    listing('list-nul-start', 'start_key=%00'),
    listing('list-start-at-highest', 'start_key=t7%3A%EF%BF%BF'),
    listing('list-start-supplementary', 'start_key=t7%3A' + '%F4%8F%BF%BF' * 5),  # below U+FFFF in UTF-16
    listing('list-descending-from-the-top', 'descending=true'),
    listing('list-descending-past-the-start', 'descending=true&start_key=t7%3Aa&end_key=a'),
    listing('list-descending-from-above', 'descending=true&start_key=zzz&end_key=a'),
    listing('list-descending-below-only', 'descending=true&start_key=t7', upstream=False),
    listing('list-descending-page-by-page', 'descending=true&limit=1&start_key=t7%3Az'),
    # Exports.
    export('export-everything', ''),
    export('export-start-below', 'start_key=a'),
    export('export-end-above', 'end_key=zzz'),
    export('export-across', 'start_key=s&end_key=u'),
    export('export-outside', 'start_key=u', upstream=False),
    # Queries: the selector is ANDed with the prefix, whatever it says about _id.
    find('find-everything', {}),
    find('find-or-ids', {'$or': [{'_id': 'plain'}, {'_id': 't7:doc'}]}),
    find('find-not-an-inside-id', {'$not': {'_id': 't7:doc'}}),
    find('find-not-the-prefix', {'$not': {'_id': {'$regex': '^t7:'}}}),
    find('find-nor-prefix', {'$nor': [{'_id': {'$gte': 't7:'}}]}),
    find('find-regex-anything', {'_id': {'$regex': '.*'}}),
    find('find-from-empty', {'_id': {'$gte': ''}}),
    find('find-below-prefix', {'_id': {'$lt': 't7:'}}),
    find('find-in-list', {'_id': {'$in': ['plain', 'T7:x', 't7:doc']}}),
    find('find-nested-or', {'$and': [{'$or': [{'_id': 'T7:x'}, {'_id': {'$gt': 't8'}}]}]}),
    find('find-fields-without-id', {'v': 1}, extra={'fields': ['v']}),
    find('find-exists', {'_id': {'$exists': True}}),
    # Other keys: beyond their scopes or databases, refused before the upstream.
    Row('reader-writes', 'PUT', doc('t7:r'), 403, 'insufficient-scope', body={'a': 1}, who='reader'),
    Row('reader-queries', 'POST', '/find', 403, 'insufficient-scope', body={'selector': {}}, who='reader'),
    Row('reader-exports', 'GET', '/export', 403, 'insufficient-scope', who='reader'),
    Row('querier-reads', 'GET', doc('plain'), 403, 'insufficient-scope', who='querier'),
    Row('browser-hashed-writes', 'POST', '/docs', 403, 'insufficient-scope', body={'a': 1}, who='browser'),
    Row('scoped-key-other-database', 'GET', '/docs', 404, 'unknown-database', who='scoped'),
    Row('tenant-other-database', 'GET', '!/v1/{other}/docs', 404, 'unknown-database'),
    Row(
        'tenant-other-database-find',
        'POST',
        '!/v1/{other}/find',
        404,
        'unknown-database',
        body={'selector': {}},
    ),
    Row('anonymous-export', 'GET', '/export', 401, 'unauthorized', who='anonymous'),
]


@pytest.fixture
def tenant_db(make_client, make_db, db, couch_admin):
    other = make_db()
    for doc_id in [*OUTSIDE, *INSIDE]:
        assert couch_admin.put(f'{db}/{quote(doc_id, safe="")}', json={'v': 1}).status_code == 201
    return make_client(db, other, API_KEYS=api_keys(db, other)), other


def test_scope_escape_attempts_get_their_answer_and_no_row_outside_the_prefix(
    tenant_db, front, db, couch_admin, capsys
):
    client, other = tenant_db
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 1}, headers=bearer('full'))  # GET / once
    failures, requests_seen, rows_checked = [], 0, 0
    for row in ROWS:
        front.reset()
        path = row.path[1:].format(other=other) if row.path.startswith('!') else f'/v1/{db}{row.path}'
        target, _, query = path.partition('?')
        result = client.simulate_request(
            row.method,
            target,
            query_string=query or None,
            json=row.body,
            headers={**bearer(row.who), **row.headers},
        )
        is_problem = result.headers.get('content-type') == 'application/problem+json'
        problem = result.json['type'].rsplit('/', 1)[1] if is_problem else None
        if (result.status_code, problem) != (row.status, row.problem):
            failures.append(
                f'{row.name}: got {result.status_code} {problem}, want {row.status} {row.problem}'
            )
        requests = front.requests
        requests_seen += len(requests)
        if bool(requests) != row.upstream:
            failures.append(
                f'{row.name}: {len(requests)} upstream requests, want {"some" if row.upstream else 0}'
            )
        prefix = PREFIX if row.who == 'tenant' else None
        try:
            rows_checked += assert_upstream_within(requests, couch_admin, {db}, prefix)
        except AssertionError as e:
            failures.append(f'{row.name}: {e}')
        outside = [i for i in _ids(result) if prefix and not i.startswith(prefix)]
        if outside:
            failures.append(f'{row.name}: the client got ids outside the prefix: {outside}')
    assert not failures, '\n'.join(failures)
    with capsys.disabled():
        print(
            f'\nscope escapes tried: {len(ROWS)}; upstream requests {requests_seen}; '
            f'rows re-checked at the server {rows_checked}, outside the prefix 0'
        )


def _ids(result) -> list[str]:
    if result.status_code >= 300 or not result.content:
        return []
    if result.headers['content-type'].startswith('application/x-ndjson'):
        return [json.loads(line)['_id'] for line in result.text.splitlines()]
    body = result.json
    return (
        [r['id'] for r in body.get('rows', [])]
        + [d['_id'] for d in body.get('docs', [])]
        + ([body['id']] if 'id' in body else [])
    )


def test_the_table_holds_at_least_thirty_escape_attempts_by_the_prefix_key():
    assert sum(row.who == 'tenant' for row in ROWS) >= 30
