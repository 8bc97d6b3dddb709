"""Idempotency-Key on POST /v1/{db}/docs and /bulk, against the real server: one write, one answer."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.api_keys import KEY_HEADER
from tests.support.problems import assert_problem
from tests.support.scoped_keys import api_keys, bearer

FAST = {'CLOUDANT_CONNECT_TIMEOUT': '2', 'CLOUDANT_READ_TIMEOUT': '2'}


def stored(couch_admin, db) -> list[dict]:
    """The documents in the database, read at the server (`_local/` records are not among them)."""
    rows = couch_admin.get(f'{db}/_all_docs', params={'include_docs': 'true'}).json()['rows']
    return [row['doc'] for row in rows]


def keyed(key: str) -> dict:
    return {'Idempotency-Key': f'"{key}"'}


def answer(result) -> tuple:
    return result.status_code, result.headers.get('location'), result.headers.get('etag'), result.json


def test_a_repeated_create_gets_the_first_answer_and_writes_nothing(client, db, couch_admin, front):
    key = str(uuid.uuid4())
    first = client.simulate_post(f'/v1/{db}/docs', json={'name': 'pho'}, headers=keyed(key))
    assert first.status_code == 201 and first.headers['location'] == f'/v1/{db}/docs/{first.json["id"]}'
    writes = sum(r.method == 'POST' for r in front.requests)
    again = client.simulate_post(f'/v1/{db}/docs', json={'name': 'pho'}, headers=keyed(key))
    assert answer(again) == answer(first)
    assert sum(r.method == 'POST' for r in front.requests) == writes  # no document write the second time
    assert [doc['name'] for doc in stored(couch_admin, db)] == ['pho']
    # Spacing and member order do not make another request; a bare (unquoted) key is the same key.
    spaced = client.simulate_post(
        f'/v1/{db}/docs',
        body='{ "name" :  "pho" }',
        headers={'Idempotency-Key': key, 'Content-Type': 'application/json'},
    )
    assert answer(spaced) == answer(first)


def test_a_key_is_remembered_by_every_worker_and_dyno(make_client, db, couch_admin):
    # Two apps, each its own object graph, session and pool: as two workers, or two dynos.
    one, other = make_client(), make_client()
    key = str(uuid.uuid4())
    first = one.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'v': 1}]}, headers=keyed(key))
    again = other.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'v': 1}]}, headers=keyed(key))
    assert answer(again) == answer(first) and first.json['results'][0]['status'] == 201
    assert len(stored(couch_admin, db)) == 1


def test_the_same_key_with_another_body_is_a_422(client, db, couch_admin):
    key = str(uuid.uuid4())
    assert client.simulate_post(f'/v1/{db}/docs', json={'v': 1}, headers=keyed(key)).status_code == 201
    assert_problem(
        client.simulate_post(f'/v1/{db}/docs', json={'v': 2}, headers=keyed(key)),
        422,
        'idempotency-key-reused',
    )
    assert_problem(
        client.simulate_post(f'/v1/{db}/bulk', json={'docs': [{'v': 1}]}, headers=keyed(key)),
        422,
        'idempotency-key-reused',
    )
    assert [doc['v'] for doc in stored(couch_admin, db)] == [1]


def test_sixteen_concurrent_duplicates_write_once_and_get_identical_answers(
    make_client, db, couch_admin, front
):
    client = make_client(CLOUDANT_POOL_MAXSIZE='16')
    front.reset()
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(
                lambda _: client.simulate_post(f'/v1/{db}/docs', json={'name': 'once'}, headers=keyed(key)),
                range(16),
            )
        )
    assert {answer(r)[0] for r in results} == {201}
    assert len({str(answer(r)) for r in results}) == 1
    assert [doc['name'] for doc in stored(couch_admin, db)] == ['once']
    # At the server: one document write, one record created (pending) and completed; 15 refused.
    assert [r.method for r in front.requests if r.path.split('?')[0] == f'/{db}'] == ['POST']
    claims = [r for r in front.requests if r.method == 'PUT' and '/_local/' in r.path]
    assert len(claims) == 17


def test_a_repeated_bulk_gets_the_first_results_and_writes_nothing(client, db, couch_admin, front):
    key = str(uuid.uuid4())
    body = {'docs': [{'v': 1}, {'_id': 'named', 'v': 2}, {'_id': '_design/x'}]}
    first = client.simulate_post(f'/v1/{db}/bulk', json=body, headers=keyed(key))
    assert [r['status'] for r in first.json['results']] == [201, 201, 400]
    front.reset()
    again = client.simulate_post(f'/v1/{db}/bulk', json=body, headers=keyed(key))
    assert answer(again) == answer(first)
    assert not any(r.path.endswith('/_bulk_docs') for r in front.requests)
    assert len(stored(couch_admin, db)) == 2


def test_sixteen_concurrent_bulk_duplicates_write_once(make_client, db, couch_admin):
    client = make_client(CLOUDANT_POOL_MAXSIZE='16')
    key, body = str(uuid.uuid4()), {'docs': [{'n': n} for n in range(10)]}
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(
                lambda _: client.simulate_post(f'/v1/{db}/bulk', json=body, headers=keyed(key)), range(16)
            )
        )
    assert len({str(answer(r)) for r in results}) == 1 and results[0].status_code == 200
    assert len(stored(couch_admin, db)) == 10


def test_keys_of_two_api_keys_are_apart(make_client, make_db, db, couch_admin):
    other = make_db()
    client = make_client(db, other, API_KEYS=api_keys(db, other))
    key = str(uuid.uuid4())
    first = client.simulate_post(f'/v1/{db}/docs', json={'v': 1}, headers={**keyed(key), **bearer('full')})
    second = client.simulate_post(
        f'/v1/{db}/docs', json={'v': 1}, headers={**keyed(key), **bearer('rotating-old')}
    )
    assert first.status_code == second.status_code == 201 and first.json['id'] != second.json['id']
    assert len(stored(couch_admin, db)) == 2


def test_a_refused_request_does_not_hold_its_key(client, db, couch_admin):
    key = str(uuid.uuid4())
    refused = client.simulate_post(f'/v1/{db}/docs', json={'_id': '_x'}, headers=keyed(key))
    assert_problem(refused, 400, 'invalid-document-id')
    fixed = client.simulate_post(f'/v1/{db}/docs', json={'_id': 'x'}, headers=keyed(key))
    assert fixed.status_code == 201


@pytest.mark.parametrize('value', ['', '"', 'é', 'a' * 256, 'a b'])
def test_a_malformed_key_is_a_400(client, db, value, front):
    result = client.simulate_post(f'/v1/{db}/docs', json={'v': 1}, headers={'Idempotency-Key': value})
    assert_problem(result, 400, 'invalid-idempotency-key')
    assert front.requests == []


@pytest.mark.app_env(upstream='proxy', **FAST)
def test_a_create_cut_off_after_sending_is_resent_with_a_key(proxy, client, db, couch_admin):
    proxy.reset_next(after_head=False, method='POST')  # the create, not the key's record (a PUT)
    result = client.simulate_post(f'/v1/{db}/docs', json={'marker': 'once'}, headers=keyed(str(uuid.uuid4())))
    assert result.status_code == 201, result.text
    assert proxy.count('POST', f'/{db}') == 2  # sent, cut off, sent again: the repeat conflicted
    assert [doc['marker'] for doc in stored(couch_admin, db)] == ['once']
    assert couch_admin.get(f'{db}/{result.json["id"]}').json()['_rev'] == result.json['rev']


@pytest.mark.app_env(upstream='proxy', **FAST)
@pytest.mark.parametrize('after_head', [False, True], ids=['before-the-answer', 'mid-answer'])
@pytest.mark.parametrize('skip', [0, 1, 2], ids=['claim', 'create', 'answer'])
def test_any_keyed_write_cut_off_once_still_ends_in_one_201(proxy, client, db, couch_admin, after_head, skip):
    # Whichever upstream write of the request is cut off (its key's claim, the create, the stored
    # answer), the client gets 201 and the server holds one document; a repeat gets the same answer.
    key = str(uuid.uuid4())
    proxy.reset_next(after_head=after_head, skip=skip)  # requests: PUT claim, POST create, PUT answer
    result = client.simulate_post(f'/v1/{db}/docs', json={'marker': 'once'}, headers=keyed(key))
    assert result.status_code == 201, result.text
    assert [doc['marker'] for doc in stored(couch_admin, db)] == ['once']
    assert len(proxy.requests) > 3  # claim, create, answer: and the one cut off, sent again
    proxy.heal()
    again = client.simulate_post(f'/v1/{db}/docs', json={'marker': 'once'}, headers=keyed(key))
    assert answer(again) == answer(result)


@pytest.mark.app_env(upstream='proxy', **FAST)
def test_a_create_cut_off_without_a_key_is_still_a_503(proxy, client, db, couch_admin):
    proxy.reset_next(after_head=False, method='POST')
    result = client.simulate_post(f'/v1/{db}/docs', json={'marker': 'once'})
    assert_problem(result, 503, 'upstream-unavailable')
    assert 'may have been applied' in result.json['detail']
    assert proxy.count('POST', f'/{db}') == 1
    assert [doc['marker'] for doc in stored(couch_admin, db)] == ['once']


def test_the_key_header_is_not_needed_for_the_default_test_key(client):
    assert KEY_HEADER  # the client sends the test key: the record's name hashes its name


@pytest.mark.app_env(upstream='proxy', **FAST)
def test_a_bulk_of_creates_cut_off_after_sending_is_resent_with_a_key(proxy, client, db, couch_admin):
    proxy.reset_next(after_head=False, method='POST')  # the _bulk_docs, not the key's record (a PUT)
    body = {'docs': [{'_id': 'given', 'v': 1}, {'v': 2}]}
    result = client.simulate_post(f'/v1/{db}/bulk', json=body, headers=keyed(str(uuid.uuid4())))
    assert result.status_code == 200, result.text
    assert [r['status'] for r in result.json['results']] == [201, 201]
    assert proxy.count('POST', f'/{db}/_bulk_docs') == 2  # sent, cut off, sent again: both conflicted
    assert sorted(doc['v'] for doc in stored(couch_admin, db)) == [1, 2]
    for entry in result.json['results']:
        assert couch_admin.get(f'{db}/{entry["id"]}').json()['_rev'] == entry['rev']


@pytest.mark.app_env(upstream='proxy', **FAST)
def test_a_bulk_with_updates_cut_off_is_not_resent(proxy, client, db, couch_admin):
    rev = couch_admin.put(f'{db}/kept', json={'v': 1}).json()['rev']
    proxy.reset_next(after_head=False, method='POST')
    body = {'docs': [{'_id': 'kept', '_rev': rev, 'v': 2}, {'v': 3}]}
    result = client.simulate_post(f'/v1/{db}/bulk', json=body, headers=keyed(str(uuid.uuid4())))
    assert_problem(result, 503, 'upstream-unavailable')
    assert 'may have been applied' in result.json['detail']
    assert proxy.count('POST', f'/{db}/_bulk_docs') == 1
