"""Least-privilege keys, route by route: every route and every kind of key gets its status, and the
TLS front's record shows each upstream request stayed inside the key's databases and id prefix.

The keys (tests/support/scoped_keys.py): full (legacy: every scope), reader (read), querier (query),
scoped (every scope, one other database), tenant (every scope, ids starting with t7:), browser (read
and query, configured by its sha256), the old and new key of a rotated pair, anonymous, a wrong key.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.request_log import capture_request_lines, request_lines
from tests.support.scoped_keys import PREFIX, SECRETS, api_keys, assert_upstream_within, bearer

ALL = {'read', 'query', 'export', 'write'}
KEYS = {  # who: (scopes, databases: None for both, prefix)
    'full': (ALL, None, None),
    'rotating-old': (ALL, None, None),
    'rotating-new': (ALL, None, None),
    'reader': ({'read'}, None, None),
    'querier': ({'query'}, None, None),
    'scoped': (ALL, 'other', None),
    'tenant': (ALL, 'db', PREFIX),
    'browser': ({'read', 'query'}, None, None),
    'anonymous': ({'read'}, None, None),
    'wrong': (set(), None, None),
}
# route: (method, path under /v1/{db} ('!' : absolute, {other}: the other database), scope, body)
ROUTES = {
    'list': ('GET', '/docs?limit=100', 'read', None),
    'get': ('GET', '/docs/t7%3Adoc', 'read', None),
    'get-outside': ('GET', '/docs/plain', 'read', None),
    'head': ('HEAD', '/docs/t7%3Adoc', 'read', None),
    'put': ('PUT', '/docs/t7%3Anew-{who}', 'write', {'a': 1}),
    'put-outside': ('PUT', '/docs/new-{who}', 'write', {'a': 1}),
    'delete': ('DELETE', '/docs/t7%3Adel-{who}', 'write', None),
    'post': ('POST', '/docs', 'write', {'a': 1}),
    'find': ('POST', '/find', 'query', {'selector': {}, 'limit': 100}),
    'export': ('GET', '/export', 'export', None),
    'metrics': ('GET', '!/metrics', 'read', None),
    'list-other': ('GET', '!/v1/{other}/docs', 'read', None),
}
OK = {'GET': 200, 'HEAD': 200, 'PUT': 201, 'POST': 201, 'DELETE': 204}


def expected(who: str, route: str) -> tuple[int, str | None]:
    """The status (and problem type) a key gets on a route, from the key's grant alone."""
    method, path, scope, _ = ROUTES[route]
    scopes, only, prefix = KEYS[who]
    if who == 'wrong' or (who == 'anonymous' and scope != 'read'):
        return 401, 'unauthorized'
    if scope not in scopes:
        return 403, 'insufficient-scope'
    on = 'other' if '{other}' in path else None if path.startswith('!/metrics') else 'db'
    if only is not None and on is not None and on != only:
        return 404, 'unknown-database'
    if prefix and route == 'get-outside':
        return 404, 'not-found'
    if prefix and route == 'put-outside':
        return 403, 'outside-scope'
    return (200 if route == 'find' else OK[method]), None


@pytest.fixture
def scoped(make_client, make_db, db, couch_admin):
    other = make_db()
    ids = ['plain', 'T7:x', 't7', 't7;x', 't8:x', 's7:x', f'{PREFIX}doc', f'{PREFIX}a', f'{PREFIX}\uffff']
    for doc_id in [*ids, *(f'{PREFIX}del-{who}' for who in KEYS)]:
        assert couch_admin.put(f'{db}/{quote(doc_id, safe="")}', json={'v': 1}).status_code == 201
    assert couch_admin.put(f'{other}/keep', json={'v': 1}).status_code == 201
    client = make_client(db, other, API_KEYS=api_keys(db, other))
    return client, other


def _send(client, who, route, db, other, couch_admin):
    method, path, _, body = ROUTES[route]
    path = path.format(who=who, other=other)
    path = path[1:] if path.startswith('!') else f'/v1/{db}{path}'
    headers = bearer(who)
    if route == 'delete':
        rev = couch_admin.get(f'{db}/{quote(f"{PREFIX}del-{who}", safe="")}').json()['_rev']
        headers['If-Match'] = f'"{rev}"'
    target, _, query = path.partition('?')
    return client.simulate_request(method, target, query_string=query or None, json=body, headers=headers)


def test_every_route_and_key_gets_its_status_and_upstream_stays_inside_the_grant(
    scoped, front, db, couch_admin, caplog, capsys
):
    client, other = scoped
    capture_request_lines(caplog)
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 1}, headers=bearer('full'))  # GET / once
    failures: list[str] = []
    upstream: Counter[str] = Counter()
    rows_checked = 0
    for who, (_, only, prefix) in KEYS.items():
        databases = {db, other} if only is None else {db if only == 'db' else other}
        for route in ROUTES:
            front.reset()
            result = _send(client, who, route, db, other, couch_admin)
            want = expected(who, route)
            got = (result.status_code, _problem_type(result) if route != 'head' else want[1])  # HEAD: no body
            if got != want:
                failures.append(f'{who} {route}: got {got}, want {want}')
            requests = front.requests
            upstream['refused' if want[0] >= 400 else 'answered'] += len(requests)
            if want[0] >= 400 and requests and want[1] not in ('not-found',):
                failures.append(f'{who} {route}: refused, yet {len(requests)} upstream requests')
            if prefix and route == 'get-outside' and requests:
                failures.append(f'{who} {route}: an id outside the prefix went upstream')
            rows_checked += assert_upstream_within(requests, couch_admin, databases, prefix)
            _check_headers(result, want, ROUTES[route][2], failures, f'{who} {route}')
            if who == 'tenant' and want[0] < 300:
                _check_tenant_answer(route, result, failures)
    assert not failures, '\n'.join(failures)
    assert upstream['refused'] == 0 and rows_checked > 0
    logged = {line['key_name'] for line in request_lines(caplog)}
    assert logged == {'full', 'rotating', 'reader', 'querier', 'scoped', 'tenant', 'browser', None}
    assert not any(secret in caplog.text for secret in SECRETS.values())
    with capsys.disabled():
        cells = len(KEYS) * len(ROUTES)
        print(
            f'\nkey matrix: {cells} cells; upstream requests {dict(upstream)}; rows re-checked {rows_checked}'
        )


def _problem_type(result) -> str | None:
    if result.headers.get('content-type') != 'application/problem+json' or not result.content:
        return None
    return result.json['type'].rsplit('/', 1)[1]


def _check_headers(result, want, scope, failures, cell):
    challenge = result.headers.get('www-authenticate', '')
    if want[0] == 401 and not challenge.startswith('Bearer'):
        failures.append(f'{cell}: 401 without WWW-Authenticate: Bearer')
    bearer_scope = f'Bearer error="insufficient_scope", scope="{scope}"'
    if want[1:] == ('insufficient-scope',) and challenge != bearer_scope:
        failures.append(f'{cell}: challenge {challenge!r}')


def _check_tenant_answer(route, result, failures):
    if route == 'list':
        ids = [row['id'] for row in result.json['rows']]
        if 'total_rows' in result.json or not ids or any(not i.startswith(PREFIX) for i in ids):
            failures.append(f'tenant list: {result.json}')
    elif route == 'find':
        ids = [doc['_id'] for doc in result.json['docs']]
        if not ids or any(not i.startswith(PREFIX) for i in ids):
            failures.append(f'tenant find: {ids}')
    elif route == 'export':
        ids = [json.loads(line)['_id'] for line in result.text.splitlines()]
        if not ids or any(not i.startswith(PREFIX) for i in ids):
            failures.append(f'tenant export: {ids}')
    elif route == 'post' and not result.json['id'].startswith(PREFIX):
        failures.append(f'tenant post: id {result.json["id"]}')


def test_metrics_count_requests_by_key_name_never_by_key(scoped, db):
    client, _ = scoped
    for who in ('reader', 'rotating-old', 'rotating-new', 'anonymous'):
        client.simulate_get(f'/v1/{db}/docs/plain', headers=bearer(who))
    client.simulate_get(f'/v1/{db}/docs/plain', headers=bearer('wrong'))
    text = client.simulate_get('/metrics', headers=bearer('full')).text
    keys: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == 'couchgate_http_requests_total' and sample.labels['status'] == '200':
                keys[sample.labels['key']] += int(sample.value)
    assert keys == {'reader': 1, 'rotating': 2, '(none)': 1}
    assert not any(secret in text for secret in SECRETS.values())
