"""Each signed-in user in an id prefix of their own (issue 23): the keys issue's scope matrix run with
tokens of one issuer, checked at the upstream side too; `sub` values chosen to collide; the log line
names the subject, /metrics never does.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support.oidc_issuer import OidcIssuer
from tests.support.request_log import capture_request_lines, request_lines
from tests.support.scoped_keys import assert_upstream_within
from tests.support.sign_in import auth_issuers, signed_in

ALL = ['read', 'query', 'export', 'write']
USERS = {  # who: (sub, scope claim or None for the issuer's scopes)
    'alice': ('auth0|alice', None),
    'bob': ('auth0|bob', None),
    'reader': ('auth0|reader', 'read openid profile'),
}
PREFIXES = {who: f'u:{quote(sub, safe="")}:' for who, (sub, _) in USERS.items()}
# route: (method, path under /v1/{db} ({me}/{them}: the caller's and alice's prefix, encoded), scope, body)
ROUTES = {
    'list': ('GET', '/docs?limit=100', 'read', None),
    'get-own': ('GET', '/docs/{me}doc', 'read', None),
    'get-alices': ('GET', '/docs/{alice}doc', 'read', None),
    'put-own': ('PUT', '/docs/{me}new', 'write', {'a': 1}),
    'put-alices': ('PUT', '/docs/{alice}planted', 'write', {'a': 1}),
    'post': ('POST', '/docs', 'write', {'a': 1}),
    'find': ('POST', '/find', 'query', {'selector': {}, 'limit': 100}),
    'export': ('GET', '/export', 'export', None),
}


def expected(who: str, route: str) -> tuple[int, str | None]:
    method, _, scope, _ = ROUTES[route]
    scopes = {'read'} if who == 'reader' else set(ALL)
    if scope not in scopes:
        return 403, 'insufficient-scope'
    if route == 'get-alices' and who != 'alice':
        return 404, 'not-found'
    if route == 'put-alices' and who != 'alice':
        return 403, 'outside-scope'
    return {'GET': 200, 'PUT': 201, 'POST': 201}[method] if route != 'find' else 200, None


@pytest.fixture
def issuer():
    with OidcIssuer() as running:
        yield running


def test_users_of_one_issuer_never_see_each_others_documents(make_client, db, issuer, front, couch_admin):
    for prefix in PREFIXES.values():
        assert couch_admin.put(f'{db}/{quote(prefix + "doc", safe="")}', json={'v': 1}).status_code == 201
    assert couch_admin.put(f'{db}/plain', json={'v': 1}).status_code == 201
    client = make_client(
        AUTH_ISSUERS=auth_issuers(issuer, databases=[db], scopes=ALL), API_REQUIRE_KEY_FOR_READS='1'
    )
    failures = []
    for who, (sub, scope) in USERS.items():
        token = issuer.token(sub=sub, scope=scope)
        mine = PREFIXES[who]
        for route, (method, path, _, body) in ROUTES.items():
            front.reset()
            path = path.format(me=quote(mine, safe=''), alice=quote(PREFIXES['alice'], safe=''))
            target, _, query = f'/v1/{db}{path}'.partition('?')
            result = client.simulate_request(
                method, target, query_string=query or None, json=body, headers=signed_in(token)
            )
            got = (
                result.status_code,
                result.json['type'].rsplit('/', 1)[1] if result.status_code >= 400 else None,
            )
            if got != expected(who, route):
                failures.append(f'{who} {route}: got {got}, want {expected(who, route)}')
            assert_upstream_within(front.requests, couch_admin, {db}, mine)
            if result.status_code < 300:
                failures += [f'{who} {route}: saw {i}' for i in _ids(route, result) if not i.startswith(mine)]
    assert not failures, '\n'.join(failures)


def _ids(route: str, result) -> list[str]:
    if route == 'list':
        return [row['id'] for row in result.json['rows']]
    if route == 'find':
        return [doc['_id'] for doc in result.json['docs']]
    if route == 'export':
        return [json.loads(line)['_id'] for line in result.text.splitlines()]
    if route == 'post':
        return [result.json['id']]
    return []


COLLIDING = ['a', 'a:', 'a%3A', 'a:b', 'a b', 'ä', 'a\u0308', '日本', 'auth0|abc', 'a.b-c_d']


def test_subs_chosen_to_collide_each_see_only_their_own_document(make_client, db, issuer):
    client = make_client(AUTH_ISSUERS=auth_issuers(issuer, databases=[db]))
    created = {}
    for sub in COLLIDING:
        result = client.simulate_post(
            f'/v1/{db}/docs', json={'sub': sub}, headers=signed_in(issuer.token(sub=sub))
        )
        assert result.status_code == 201, result.text
        created[sub] = result.json['id']
    assert created['auth0|abc'].startswith('u:auth0%7Cabc:') and created['a:'].startswith('u:a%3A:')
    for sub in COLLIDING:
        listed = client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token(sub=sub)))
        assert [row['id'] for row in listed.json['rows']] == [created[sub]], sub


def test_the_log_names_issuer_and_subject_and_metrics_name_neither_user_nor_token(
    make_client, db, issuer, caplog
):
    capture_request_lines(caplog)
    client = make_client(AUTH_ISSUERS=auth_issuers(issuer))
    token = issuer.token(sub='carol-7f3a')
    assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(token)).status_code == 200
    line = request_lines(caplog)[-1]
    assert line['key_name'] == 'app-users' and line['subject'] == 'carol-7f3a'
    assert token not in caplog.text and token.split('.')[2] not in caplog.text
    metrics = client.simulate_get('/metrics').text
    assert 'key="app-users"' in metrics and 'carol' not in metrics and token.split('.')[1] not in metrics


def test_one_users_idempotency_key_never_replays_anothers_answer(make_client, db, issuer):
    client = make_client(AUTH_ISSUERS=auth_issuers(issuer))
    once = {'Idempotency-Key': 'same-key-for-both-users'}
    first = client.simulate_post(
        f'/v1/{db}/docs', json={'a': 1}, headers=dict(once, **signed_in(issuer.token(sub='x')))
    )
    second = client.simulate_post(
        f'/v1/{db}/docs', json={'a': 1}, headers=dict(once, **signed_in(issuer.token(sub='y')))
    )
    assert first.status_code == second.status_code == 201
    assert first.json['id'].startswith('u:x:') and second.json['id'].startswith('u:y:')


def test_a_quota_is_counted_per_user_and_metrics_name_only_the_issuer(make_client, db, issuer):
    client = make_client(
        AUTH_ISSUERS=auth_issuers(issuer, quota={'reads': 1}),
        CLOUDANT_CAPACITY='reads=1000,writes=1000,queries=100',
        CLOUDANT_QUEUE_MAX_WAIT='0.01',  # refused at once rather than queued for the next second
    )
    alice, bob = (signed_in(issuer.token(sub=sub)) for sub in ('quota-alice', 'quota-bob'))
    # One upstream read each: the document is missing, a 404 until the quota is spent.
    assert client.simulate_get(f'/v1/{db}/docs/u%3Aquota-alice%3Ax', headers=alice).status_code == 404
    refused = client.simulate_get(f'/v1/{db}/docs/u%3Aquota-alice%3Ax', headers=alice)
    assert refused.status_code == 429 and refused.json['type'] == '/problems/quota-exceeded'
    # A quota of his own:
    assert client.simulate_get(f'/v1/{db}/docs/u%3Aquota-bob%3Ax', headers=bob).status_code == 404
    metrics = client.simulate_get('/metrics').text
    assert (
        'couchgate_capacity_refused_total{class="reads",key="app-users",type="quota-exceeded"} 1.0' in metrics
    )
    assert 'quota-alice' not in metrics
