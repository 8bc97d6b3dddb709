"""Idempotency-Key when the database goes away between the write and its answer's record: the client got
its answer, so a repeat with the key gets that same answer at once, and the database holds one write.

The outage proxy (tests/support/outage_proxy.py, the fault proxy with one more fault) relays the
write and its answer, then cuts off everything after it unforwarded: the key's record never reaches
the server. heal() brings the database back before the repeat, which is sent right away, not after
the record would have gone stale.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.outage_proxy import OutageProxy
from tests.support.problems import assert_problem
from tests.support.reorder_proxy import fresh

# Short timeouts: a cut-off request fails fast. A deadline of 4 s: a repeat that finds the key's
# record still pending waits 2 s for it, then answers 409; the record is stale only after 8 s.
ENV = {'CLOUDANT_CONNECT_TIMEOUT': '2', 'CLOUDANT_READ_TIMEOUT': '2', 'CLOUDANT_REQUEST_DEADLINE': '4'}


@pytest.fixture(scope='module')
def outage_proxy_server(pouch, server_ssl_context):
    with OutageProxy(('127.0.0.1', pouch.port), server_ssl_context) as proxy:
        yield proxy


@pytest.fixture
def outage(outage_proxy_server):
    with fresh(outage_proxy_server) as proxy:
        yield proxy


@pytest.fixture
def client(make_client, outage):
    return make_client(upstream=outage, **ENV)


def keyed(key: str) -> dict:
    return {'Idempotency-Key': f'"{key}"'}


def answer(result) -> tuple:
    return result.status_code, result.headers.get('location'), result.headers.get('etag'), result.json


def stored(couch_admin, db) -> dict[str, dict]:
    """Every document at the server by id, deleted ones too ({'_rev', '_deleted'}), read directly."""
    rows = couch_admin.get(f'{db}/_all_docs', params={'include_docs': 'true'}).json()['rows']
    found = {row['id']: row['doc'] for row in rows}
    changes = couch_admin.get(f'{db}/_changes').json()['results']
    for change in changes:
        if change.get('deleted'):
            found[change['id']] = {'_rev': change['changes'][0]['rev'], '_deleted': True}
    return found


def first_answer_with_the_database_gone(outage, client, path: str, body: dict, key: str):
    """The keyed request, the database going away once its write is answered; then it comes back."""
    outage.go_away_after_write()
    first = client.simulate_post(path, json=body, headers=keyed(key))
    # The write reached the server; what followed it did not (on the current code: the record's PUT,
    # sent twice), so no answer of this key is stored.
    assert outage.writes_before and outage.down, f'the request wrote nothing: {outage.cut_off}'
    outage.heal()
    return first


@pytest.mark.parametrize('given_id', [True, False], ids=['with-id', 'without-id'])
def test_a_create_whose_record_was_lost_answers_a_repeat_with_the_first_answer(
    outage, client, db, couch_admin, given_id
):
    key, body = str(uuid.uuid4()), {'name': 'pho', **({'_id': 'soup'} if given_id else {})}
    first = first_answer_with_the_database_gone(outage, client, f'/v1/{db}/docs', body, key)
    assert first.status_code == 201, first.text
    doc_id = first.json['id']
    assert first.headers['location'] == f'/v1/{db}/docs/{doc_id}'
    again = client.simulate_post(f'/v1/{db}/docs', json=body, headers=keyed(key))
    assert answer(again) == answer(first), again.text
    docs = stored(couch_admin, db)
    assert list(docs) == [doc_id]  # one write: no copy under another id
    assert docs[doc_id] == dict(body, _id=doc_id, _rev=first.json['rev'])
    assert first.json['rev'].startswith('1-')


def test_a_bulk_whose_record_was_lost_answers_a_repeat_with_the_first_results(
    outage, client, db, couch_admin
):
    before = {
        name: couch_admin.put(f'{db}/{name}', json={'v': 0}).json()['rev'] for name in ('changed', 'gone')
    }
    key = str(uuid.uuid4())
    body = {
        'docs': [
            {'_id': 'given', 'v': 1},
            {'v': 2},
            {'_id': 'changed', '_rev': before['changed'], 'v': 3},
            {'_id': 'gone', '_rev': before['gone'], '_deleted': True},
        ]
    }
    first = first_answer_with_the_database_gone(outage, client, f'/v1/{db}/bulk', body, key)
    assert first.status_code == 200, first.text
    results = first.json['results']
    assert [r['status'] for r in results] == [201, 201, 200, 200], results
    again = client.simulate_post(f'/v1/{db}/bulk', json=body, headers=keyed(key))
    assert answer(again) == answer(first), again.text
    docs = stored(couch_admin, db)
    named = results[1]['id']
    assert sorted(docs) == sorted(['given', named, 'changed', 'gone'])  # no extra documents
    assert docs['given'] == {'_id': 'given', '_rev': results[0]['rev'], 'v': 1}
    assert docs[named] == {'_id': named, '_rev': results[1]['rev'], 'v': 2}
    assert docs['changed'] == {'_id': 'changed', '_rev': results[2]['rev'], 'v': 3}
    assert docs['gone'] == {'_rev': results[3]['rev'], '_deleted': True}
    assert [r['rev'][:2] for r in results] == ['1-', '1-', '2-', '2-']  # one generation up, once


@pytest.mark.parametrize('route', ['docs', 'bulk'])
def test_a_repeat_with_another_body_after_a_lost_record_is_still_a_422(
    outage, client, db, couch_admin, route
):
    key = str(uuid.uuid4())
    body, other = ({'v': 1}, {'v': 2}) if route == 'docs' else ({'docs': [{'v': 1}]}, {'docs': [{'v': 2}]})
    first = first_answer_with_the_database_gone(outage, client, f'/v1/{db}/{route}', body, key)
    assert first.status_code in (200, 201), first.text
    assert_problem(
        client.simulate_post(f'/v1/{db}/{route}', json=other, headers=keyed(key)),
        422,
        'idempotency-key-reused',
    )
    assert [doc['v'] for doc in stored(couch_admin, db).values()] == [1]
