"""Hostile-input tables: each row states a request, the answer it must get (status and problem type)
and where upstream it may go.

assert_answered() sends a table's rows in order through the real app against the real server (behind
the TLS front). Afterwards the allowed database must hold exactly the documents the accepted rows
wrote, and no other database on the server may have changed.
"""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import quote, unquote_to_bytes

from falcon import testing

MiB = 1024 * 1024
JSON = {'Content-Type': 'application/json'}
EXISTING = {'_id': 'existing', 'v': 1}


@dataclasses.dataclass
class Row:
    """One hostile request, the answer it must get, and where upstream it may go."""

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
    """A PUT of a hostile body; by default it must get a 400 invalid-json."""
    return Row(name, 'PUT', '/docs/body-target', status, problem, body=payload, headers=headers, **kw)


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b'1' + b'}' * levels


def assert_answered(rows: list[Row], client, front, db: str, other: str, couch_admin) -> None:
    """Send `rows` in order to `db` (`other` is another database that exists); all must hold."""
    assert couch_admin.put(f'{db}/existing', json=EXISTING).status_code == 201
    assert couch_admin.put(f'{other}/keep', json={'v': 1}).status_code == 201
    before = _snapshot(couch_admin, skip=db)
    anonymous = testing.TestClient(client.app)  # the same app, without the test key

    client.simulate_get(f'/v1/{db}/docs', params={'limit': 1})  # GET / once: how the server orders ids
    failures = []
    for row in rows:
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

    stored = couch_admin.get(f'{db}/_all_docs', params={'include_docs': 'true'}).json()['rows']
    written = {row.stores: {'who': row.stores} for row in rows if row.stores} | {'existing': {'v': 1}}
    assert {r['id']: {k: v for k, v in r['doc'].items() if not k.startswith('_')} for r in stored} == written
    assert _snapshot(couch_admin, skip=db) == before


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
