"""A subscription to a database's changes, without a server: the seam between its catch-up and the
worker's feed, the bound on unsent bytes, long polls, shutdown; and the route's parameters."""

from __future__ import annotations

import json

import pytest
from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibmcloudant import CloudantV1

from api.changes import events
from api.changes.hub import Hub
from api.changes.subscription import UNSENT_LIMIT, Subscription
from api.errors import Problem
from api.upstream.cloudant_couch import CloudantCouch
from api.upstream.couch import Change, Changes
from tests.support.api_keys import TEST_KEY
from tests.support.fakes import FakeCouch
from tests.support.poll import wait_for
from tests.support.problems import assert_problem
from tests.support.wsgi_server import serving


def change(seq: int | str, doc_id: str = 'a', rev: str = '1-x', doc: bytes | None = None) -> Change:
    return Change(str(seq), doc_id, rev, False, doc)


def subscription(position: str = '0', pages=(), **kwargs) -> Subscription:
    pages = list(pages)
    reader = (lambda since: pages.pop(0)) if pages else None
    return Subscription(
        'db', None, False, position, reader=reader, on_close=lambda s: None, heartbeat=20.0, **kwargs
    )


def sent(sub: Subscription) -> tuple[list[tuple[str, str, dict]], bool]:
    """The events taken so far (name, id, data), and whether the answer ended."""
    data, ended = sub.take(10 * UNSENT_LIMIT)
    found = []
    for block in data.decode().split('\n\n'):
        fields = dict(line.split(': ', 1) for line in block.splitlines() if not line.startswith(':'))
        if fields:
            found.append((fields['event'], fields['id'], json.loads(fields['data'])))
    return found, ended


def test_the_catch_up_and_then_only_newer_changes_of_the_feed_once_each():
    sub = subscription('2', [Changes([change(3, 'a'), change(4, 'b')], '4', False)])
    sub.offer([change(4, 'b'), change(5, 'c')])  # the feed, during the catch-up: held
    caught_up = b''.join(sub.catch_up()).decode()
    assert caught_up.count('event: change') == 2
    live, ended = sent(sub)
    assert [(e[1], e[2]['id']) for e in live] == [('5', 'c')] and not ended


def test_opaque_seqs_drop_at_the_seam_only_what_the_catch_up_gave():
    sub = subscription('1-g1', [Changes([change('7-x', 'a', '2-b')], '7-x', False)])
    sub.offer([change('6-x', 'a', '2-b'), change('8-x', 'a', '3-c'), change('5-x', 'z', '1-z')])
    list(sub.catch_up())
    live, _ = sent(sub)
    assert [(e[2]['id'], e[2]['rev']) for e in live] == [('a', '3-c'), ('z', '1-z')]


def test_a_slow_reader_is_reset_at_the_last_seq_it_was_given():
    sub = subscription('0')
    sub.caught_up('0')
    big = b'{"x":"' + b'y' * 100_000 + b'"}'
    sub.include_docs = True
    sub.offer([change(n, f'd{n}', doc=big) for n in range(1, 30)])
    found, ended = sent(sub)
    assert ended and found[-1][0] == 'reset'
    assert found[-1][2] == {'last_seq': found[-2][1], 'reason': 'slow-reader'}
    assert len(found) - 1 < 29


def test_a_long_poll_answers_with_the_first_changes_up_to_its_limit_then_ends():
    sub = subscription('3', poll_limit=2, wait=10)
    sub.caught_up('3')
    sub.offer([change(4, 'a'), change(5, 'b'), change(6, 'c')])
    data, ended = sub.take(UNSENT_LIMIT)
    assert ended
    assert json.loads(data) == {
        'results': [{'seq': '4', 'id': 'a', 'rev': '1-x'}, {'seq': '5', 'id': 'b', 'rev': '1-x'}],
        'last_seq': '5',
    }


def test_a_long_poll_whose_wait_is_over_answers_empty_from_where_it_stood():
    sub = subscription('3', poll_limit=2, wait=10)
    sub.caught_up('9')
    sub.expire()
    data, ended = sub.take(UNSENT_LIMIT)
    assert ended and json.loads(data) == {'results': [], 'last_seq': '9'}


def test_a_doorbell_long_poll_ends_at_a_change_saying_only_where_it_stood_in_its_own_page():
    # A replicator's long poll (/sync): its client reads the change itself, with every leaf revision.
    def page(changes: list[Change], last_seq: str) -> bytes:
        return json.dumps({'rows': [c.id for c in changes], 'at': int(last_seq)}).encode()

    sub = subscription('3', poll_limit=100, wait=10, poll_page=page, doorbell=True)
    sub.caught_up('7')
    assert sub.take(UNSENT_LIMIT) == (b'', False)  # nothing yet: it waits
    sub.offer([change(8, 'a'), change(9, 'b')])
    data, ended = sub.take(UNSENT_LIMIT)
    assert ended and json.loads(data) == {'rows': [], 'at': 7}
    sub.offer([change(10, 'c')])  # after the end: nothing more
    assert sub.take(UNSENT_LIMIT) == (b'', True)


def test_a_doorbell_long_poll_rings_at_once_for_a_change_that_came_during_its_read():
    sub = subscription('3', poll_limit=100, wait=10, doorbell=True)
    sub.offer([change(8, 'a')])  # held: the request's own read had not ended
    sub.caught_up('7')
    data, ended = sub.take(UNSENT_LIMIT)
    assert ended and json.loads(data) == {'results': [], 'last_seq': '7'}


def test_shutdown_ends_a_stream_with_where_to_resume():
    sub = subscription('0')
    sub.caught_up('0')
    sub.offer([change(4, 'a')])
    sub.shut_down()
    found, ended = sent(sub)
    assert ended and found[-1] == ('reset', '4', {'last_seq': '4', 'reason': 'shutdown'})


def test_a_document_with_line_breaks_stays_on_one_data_line():
    line = events.event(change(1, 'a', doc=b'{\n"a": "b\\nc"\r\n}'), include_docs=True)
    assert line.count(b'\n') == 4 and json.loads(line.split(b'data: ')[1]) == {
        'id': 'a',
        'rev': '1-x',
        'doc': {'a': 'b\nc'},
    }


def test_beyond_the_most_streams_a_503_with_retry_after_and_a_closed_one_frees_its_place():
    fake = FakeCouch('db')
    hub = Hub(fake, max_streams=2, heartbeat=20.0, page_bytes=1 << 20)
    first, second = hub.open('db', None, False, 'now'), hub.open('db', 't7:', False, 'now')
    with pytest.raises(Problem) as refused:
        hub.open('db', None, False, 'now')
    assert refused.value.status_code == 503 and dict(refused.value.headers or {})['Retry-After'] == '5'
    first.close()
    first.close()  # once only
    third = hub.open('db', None, False, 'now')
    assert hub.open_count == 2
    for sub in (second, third):
        sub.close()
    assert hub.open_count == 0


def test_a_long_poll_page_through_the_route(client):
    first = client.simulate_get('/v1/foundbite/changes', params={'limit': '2'})
    assert first.status_code == 200 and first.headers['Cache-Control'] == 'no-store'
    assert [r['id'] for r in first.json['results']] == ['d00', 'd01']
    rest = client.simulate_get(
        '/v1/foundbite/changes', params={'since': first.json['last_seq'], 'limit': '1000'}
    )
    assert len(rest.json['results']) == 28 and rest.json['results'][0]['seq'] == '3'


@pytest.mark.parametrize(
    ('params', 'problem_type'),
    [
        ({'since': 'abc'}, 'invalid-since'),
        ({'since': '1-é'}, 'invalid-since'),
        ({'limit': '0'}, 'invalid-parameter'),
        ({'limit': '1001'}, 'invalid-parameter'),
        ({'wait': '26'}, 'invalid-parameter'),
        ({'include_docs': 'yes'}, 'invalid-parameter'),
    ],
)
def test_bad_parameters_are_problems(client, params, problem_type):
    assert_problem(client.simulate_get('/v1/foundbite/changes', params=params), 400, problem_type)


def test_a_bad_last_event_id_is_an_invalid_since(client):
    answer = client.simulate_get(
        '/v1/foundbite/changes', headers={'Accept': 'text/event-stream', 'Last-Event-ID': 'x y'}
    )
    assert_problem(answer, 400, 'invalid-since')


def test_a_waiting_long_poll_with_nothing_new_answers_empty(client):
    answer = client.simulate_get('/v1/foundbite/changes', params={'since': '30', 'wait': '1'})
    assert answer.status_code == 200 and answer.json == {'results': [], 'last_seq': '30'}


@pytest.mark.app_env(API_REQUIRE_KEY_FOR_READS='true')
def test_the_bearer_may_come_as_access_token_on_this_route_only(make_client):
    client = make_client(API_KEYS=f'tests:{TEST_KEY}')
    assert client.simulate_get('/v1/foundbite/changes', params={'access_token': TEST_KEY}).status_code == 200
    assert_problem(
        client.simulate_get('/v1/foundbite/docs', params={'access_token': TEST_KEY}), 401, 'unauthorized'
    )
    both = client.simulate_get(
        '/v1/foundbite/changes',
        params={'access_token': TEST_KEY},
        headers={'Authorization': f'Bearer {TEST_KEY}'},
    )
    assert_problem(both, 400, 'invalid-parameter')
    wrong = client.simulate_get('/v1/foundbite/changes', params={'access_token': 'nope-0123456789abcdef'})
    assert wrong.status_code == 401


def test_a_since_the_database_refuses_is_an_invalid_since_in_the_apis_words():
    def couchdb(environ, start_response):  # CouchDB's answer to a seq it cannot parse
        start_response('400 Bad Request', [('Content-Type', 'application/json')])
        return [b'{"error":"bad_request","reason":"Malformed sequence supplied in \'since\' parameter."}']

    with serving(couchdb) as url:
        client = CloudantV1(authenticator=NoAuthAuthenticator())
        client.set_service_url(url)
        with pytest.raises(Problem) as refused:
            CloudantCouch(client).changes('db', since='1-abc', limit=1)
    assert refused.value.status_code == 400 and refused.value.problem_type == 'invalid-since'
    assert 'Malformed' not in str(refused.value.to_dict())


def test_a_feed_runs_while_its_database_has_subscribers_and_ends_after_the_last_leaves():
    hub = Hub(FakeCouch('db', 'other'), max_streams=10, heartbeat=20.0, page_bytes=1 << 20)
    subs = [
        hub.open('db', None, False, 'now'),
        hub.open('db', 't7:', True, 'now'),
        hub.open('other', None, False, 'now'),
    ]
    assert hub.feeds() == ['db', 'other']  # one per database, however many subscribers
    subs[2].close()
    wait_for(lambda: hub.feeds() == ['db'], 'the feed of a database nobody follows ended')
    subs[0].close()
    subs[1].close()
    wait_for(lambda: hub.feeds() == [], 'every feed ended')


def test_a_doorbell_at_the_feeds_position_reads_nothing_and_its_wait_ends_where_the_feed_stands():
    couch = FakeCouch('db')
    couch.dbs['db'].update({'t1:a': {'_id': 't1:a', '_rev': '1-x'}, 'o:b': {'_id': 'o:b', '_rev': '1-x'}})
    hub = Hub(couch, max_streams=10, heartbeat=20.0, page_bytes=1 << 20)
    behind = hub.open('db', 't1:', False, '1', poll_limit=100, wait=10, doorbell=True)
    assert not behind.current  # a client behind the feed reads its own page first
    at_feed = hub.open('db', 't1:', False, '2', poll_limit=100, wait=10, doorbell=True)
    assert at_feed.current
    at_feed.caught_up('2')
    couch.dbs['db']['o:c'] = {'_id': 'o:c', '_rev': '1-x'}  # another user's change: no ring
    wait_for(lambda: hub.delivered('db') == '3', "the feed offered the other user's change")
    assert at_feed.take(UNSENT_LIMIT) == (b'', False)
    at_feed.expire()
    data, ended = at_feed.take(UNSENT_LIMIT)
    assert ended and json.loads(data) == {'results': [], 'last_seq': '3'}  # comes back needing no read
    behind.close()
    at_feed.close()
