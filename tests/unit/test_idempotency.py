"""Idempotency-Key records without a server (FakeCouch): pending, released, stale, and the ids they derive."""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.support.problems import assert_problem

KEY = {'Idempotency-Key': 'k-1'}


def record(couch, key: str = 'k-1', key_name: str = 'tests') -> dict:
    scope = hashlib.sha256(f'{key_name}\0{key}'.encode()).hexdigest()
    return couch.dbs['foundbite']['_local/couchgate-idempotency-' + scope]


def test_the_answer_is_kept_in_a_local_record_of_the_database(client, couch):
    created = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    assert created.status_code == 201
    kept = record(couch)
    assert kept['state'] == 'done' and kept['answer']['status'] == 201
    assert kept['answer']['body'] == created.json
    assert kept['answer']['headers'] == {
        'Location': created.headers['location'],
        'ETag': created.headers['etag'],
    }


def test_a_create_under_a_key_gets_an_id_derived_from_it(client, couch):
    first = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    couch.dbs['foundbite'].pop(next(k for k in couch.dbs['foundbite'] if k.startswith('_local/')))
    # The record lost (say, never stored): the resend hits the same id, which is this key's own.
    again = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    assert again.status_code == 201 and again.json == first.json
    assert sum(1 for k in couch.dbs['foundbite'] if not k.startswith(('_local/', 'd'))) == 1


@pytest.mark.app_env(CLOUDANT_REQUEST_DEADLINE='0.2')
def test_a_repeat_while_the_first_is_pending_waits_then_gets_a_409(client, couch):
    first = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    record(couch).update(state='pending', since=time.time())
    del couch.dbs['foundbite'][first.json['id']]  # the first request has not written yet
    started = len(couch.calls)
    result = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    assert_problem(result, 409, 'idempotency-key-in-use')
    assert result.headers['retry-after'] == '1'
    assert ('create', 'foundbite') not in couch.calls[started:]
    assert couch.calls[started:].count(('get_local', 'foundbite')) >= 2  # polled, not given up at once


def test_a_repeat_after_a_write_whose_record_was_lost_gets_the_first_answer_from_the_database(client, couch):
    first = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    record(couch).update(state='pending', since=time.time(), answer=None)  # the answer never stored
    started = len(couch.calls)
    for since in (time.time(), time.time() - 60):
        record(couch)['since'] = since
        again = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
        assert (again.status_code, again.json) == (201, first.json)
        assert again.headers['location'] == first.headers['location']
        assert again.headers['etag'] == first.headers['etag']
        # Kept only once the first request has surely ended (it may still store the answer itself).
        assert record(couch)['state'] == ('done' if since < time.time() - 30 else 'pending')
    assert not {('create', 'foundbite'), ('put', 'foundbite')} & set(couch.calls[started:])


def test_a_bulk_repeat_after_a_lost_record_gets_each_items_first_outcome(client, couch):
    body = {
        'docs': [
            {'v': 1},
            {'_id': 'new', 'v': 1},
            {'_id': 'd00', '_rev': '1-fake', 'v': 2},
            {'_id': 'd01', '_rev': '9-stale', 'v': 2},
            {'_id': 'missing', '_rev': '1-x', 'v': 2},
            {'_id': 'x', '_rev': 'bad'},
        ]
    }
    first = client.simulate_post('/v1/foundbite/bulk', json=body, headers=KEY)
    assert [r['status'] for r in first.json['results']] == [201, 201, 200, 412, 404, 400]
    record(couch).update(state='pending', since=time.time(), answer=None)
    again = client.simulate_post('/v1/foundbite/bulk', json=body, headers=KEY)
    assert again.json == first.json
    assert couch.calls.count(('bulk', 'foundbite')) == 1


@pytest.mark.app_env(CLOUDANT_REQUEST_DEADLINE='0.2')
def test_a_bulk_repeat_waits_while_an_item_of_the_first_is_not_written(client, couch):
    body = {'docs': [{'_id': 'one', 'v': 1}, {'_id': 'two', 'v': 1}]}
    client.simulate_post('/v1/foundbite/bulk', json=body, headers=KEY)
    record(couch).update(state='pending', since=time.time(), answer=None)
    del couch.dbs['foundbite']['two']  # as if the first's write had reached one document so far
    result = client.simulate_post('/v1/foundbite/bulk', json=body, headers=KEY)
    assert_problem(result, 409, 'idempotency-key-in-use')
    assert couch.calls.count(('bulk', 'foundbite')) == 1


@pytest.mark.app_env(CLOUDANT_REQUEST_DEADLINE='0.2')
def test_a_record_pending_longer_than_any_request_is_taken_over(client, couch):
    client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    record(couch).update(state='pending', since=time.time() - 60)
    result = client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY)
    assert result.status_code == 201
    assert record(couch)['state'] == 'done'


def test_a_failed_write_releases_the_key_for_any_body(client, couch):
    couch.unavailable = True
    assert client.simulate_post('/v1/foundbite/docs', json={'v': 1}, headers=KEY).status_code == 503
    couch.unavailable = False
    assert client.simulate_post('/v1/foundbite/docs', json={'v': 2}, headers=KEY).status_code == 201


def test_a_bulk_repeat_with_the_same_key_replays_results(client, couch):
    body = {'docs': [{'v': 1}, {'_id': 'd00', '_rev': '1-fake', 'v': 2}]}
    first = client.simulate_post('/v1/foundbite/bulk', json=body, headers=KEY)
    assert [r['status'] for r in first.json['results']] == [201, 200]
    again = client.simulate_post('/v1/foundbite/bulk', json=body, headers=KEY)
    assert again.json == first.json
    assert couch.calls.count(('bulk', 'foundbite')) == 1


def test_without_a_key_nothing_is_recorded(client, couch):
    assert client.simulate_post('/v1/foundbite/docs', json={'v': 1}).status_code == 201
    assert not any(call == 'put_local' for call, _ in couch.calls)
