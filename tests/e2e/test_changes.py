"""Live changes through gunicorn (issue 24): the Procfile's web line over the local server; SSE
streams and long polls as clients see them, counted and checked from outside."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time

import pytest
import requests

from tests.support.gunicorn_process import WebProcess, serving_database
from tests.support.problems import assert_problem
from tests.support.sse import EventStream

KEY = 'changes-key-0123456789abcdef'
PREFIXED = 'changes-t7-0123456789abcdef'


@pytest.fixture(scope='module')
def web(pouch, couch_admin):
    keys = json.dumps(
        [
            {'name': 'all', 'key': KEY, 'scopes': ['read', 'write']},
            {'name': 't7', 'key': PREFIXED, 'scopes': ['read', 'write'], 'id_prefix': 't7:'},
        ]
    )
    with serving_database(pouch, couch_admin, 'live', API_KEYS=keys, CHANGES_HEARTBEAT='1') as process:
        yield process


def auth(key: str = KEY) -> dict[str, str]:
    return {'Authorization': f'Bearer {key}'}


def put(web, doc_id: str, body: dict, key: str = KEY, rev: str | None = None, db: str = 'live') -> str:
    headers = auth(key) | ({'If-Match': f'"{rev}"'} if rev else {})
    answer = requests.put(f'{web.url}/v1/{db}/docs/{doc_id}', json=body, headers=headers, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()['rev']


def test_a_stream_sees_a_create_an_update_and_a_delete_as_they_happen(web):
    with EventStream(f'{web.url}/v1/live/changes', auth()) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers['Content-Type'].startswith('text/event-stream')
        assert stream.response.headers['Cache-Control'] == 'no-store'
        rev1 = put(web, 'sse-a', {'n': 1})
        rev2 = put(web, 'sse-a', {'n': 2}, rev=rev1)
        deleted = requests.delete(
            f'{web.url}/v1/live/docs/sse-a', headers=auth() | {'If-Match': f'"{rev2}"'}, timeout=30
        )
        assert deleted.status_code == 204, deleted.text
        events = stream.changes(3)
    assert [e.data['id'] for e in events] == ['sse-a'] * 3
    assert [e.data['rev'] for e in events[:2]] == [rev1, rev2]
    assert events[2].data.get('deleted') is True and 'deleted' not in events[0].data
    assert all(e.id for e in events) and len({e.id for e in events}) == 3


def test_a_quiet_stream_gets_heartbeats(web):
    with EventStream(f'{web.url}/v1/live/changes', auth()) as stream:
        assert stream.next(timeout=5, comments=True).comment == 'heartbeat'


def test_a_resumed_stream_gets_every_change_after_its_last_event_id_once(web):
    with EventStream(f'{web.url}/v1/live/changes', auth()) as stream:
        put(web, 'resume-1', {'n': 1})
        (first,) = stream.changes(1)
    # Written while no stream was open: the resumed one must catch up on them, then go on live.
    put(web, 'resume-2', {'n': 2})
    put(web, 'resume-3', {'n': 3})
    headers = auth() | {'Last-Event-ID': first.id or ''}
    with EventStream(f'{web.url}/v1/live/changes?since=now', headers) as stream:
        caught_up = stream.changes(2)
        put(web, 'resume-4', {'n': 4})
        live = stream.changes(1)
        put(web, 'resume-5', {'n': 5})
        later = stream.changes(1)
    ids = [e.data['id'] for e in caught_up + live + later]
    assert ids == ['resume-2', 'resume-3', 'resume-4', 'resume-5']


def test_include_docs_adds_the_document_as_it_is_stored(web, couch_admin):
    with EventStream(f'{web.url}/v1/live/changes?include_docs=true', auth()) as stream:
        # Stored by another client: an integer beyond 64 bits, a line break in a string.
        stored = couch_admin.put(
            'live/with-doc',
            data=b'{"big":1000000000000000000000000000000,"text":"line\\nbreak"}',
            headers={'Content-Type': 'application/json'},
        )
        assert stored.status_code == 201, stored.text
        (event,) = stream.changes(1)
    assert event.data['doc']['_id'] == 'with-doc'
    assert event.data['doc'] == couch_admin.get('live/with-doc').json()  # as the database keeps it
    assert event.data['doc']['text'] == 'line\nbreak'


def test_a_prefix_key_sees_only_its_own_documents_and_no_design_document(web, couch_admin):
    with EventStream(f'{web.url}/v1/live/changes', auth(PREFIXED)) as stream:
        couch_admin.put('live/_design/secret', json={'views': {}})
        put(web, 'other-doc', {'n': 1})
        put(web, 't7:mine', {'n': 1}, key=PREFIXED)
        (event,) = stream.changes(1)
        assert event.data['id'] == 't7:mine'
        put(web, 't7:mine-2', {'n': 1}, key=PREFIXED)
        (event,) = stream.changes(1)
        assert event.data['id'] == 't7:mine-2'


def test_refusals_come_before_any_stream_as_problems(web):
    with EventStream(f'{web.url}/v1/live/changes', {}) as anonymous:
        assert anonymous.response.status_code in (200, 401)
    with EventStream(f'{web.url}/v1/live/changes', auth('wrong-key-0123456789')) as wrong:
        assert_problem(wrong.response, 401, 'unauthorized')
    with EventStream(f'{web.url}/v1/nowhere/changes', auth()) as missing:
        assert_problem(missing.response, 404, 'unknown-database')
    with EventStream(f'{web.url}/v1/live/changes?since=bogus', auth()) as bad:
        assert_problem(bad.response, 400, 'invalid-since')


def test_the_token_may_come_as_access_token_and_is_never_logged(web):
    with EventStream(f'{web.url}/v1/live/changes?access_token={KEY}', {}) as stream:
        assert stream.response.status_code == 200
        put(web, 'by-query-token', {'n': 1})
        (event,) = stream.changes(1)
        assert event.data['id'] == 'by-query-token'
    refused = requests.get(f'{web.url}/v1/live/docs?access_token={KEY}', timeout=30)
    assert refused.status_code in (200, 401)  # other routes ignore it: never a key there
    assert KEY not in web.output()


def test_a_long_poll_answers_at_once_with_what_is_there_and_pages_by_last_seq(web):
    for n in range(3):
        put(web, f'poll-{n}', {'n': n})
    first = requests.get(f'{web.url}/v1/live/changes?limit=2', headers=auth(), timeout=30)
    assert first.status_code == 200 and first.headers['Cache-Control'] == 'no-store'
    assert len(first.json()['results']) == 2
    rest = requests.get(
        f'{web.url}/v1/live/changes?limit=1000&since={first.json()["last_seq"]}', headers=auth(), timeout=30
    )
    ids = [r['id'] for r in first.json()['results'] + rest.json()['results']]
    assert len(ids) == len(set(ids)) and {'poll-0', 'poll-1', 'poll-2'} <= set(ids)
    assert all(set(r) >= {'seq', 'id', 'rev'} for r in rest.json()['results'])


def test_a_waiting_long_poll_answers_when_a_change_arrives(web):
    now = requests.get(f'{web.url}/v1/live/changes?since=now', headers=auth(), timeout=30).json()['last_seq']
    started = time.monotonic()
    answer: dict = {}

    def poll() -> None:
        got = requests.get(f'{web.url}/v1/live/changes?since={now}&wait=20', headers=auth(), timeout=30)
        answer.update(status=got.status_code, body=got.json())

    poller = threading.Thread(target=poll)
    poller.start()
    # The write may land before the poll reaches the server (then it answers at once) or after it.
    put(web, 'woken', {'n': 1})
    poller.join(30)
    assert answer['status'] == 200
    assert [r['id'] for r in answer['body']['results']] == ['woken']
    assert time.monotonic() - started < 15


def test_a_waiting_long_poll_with_nothing_new_answers_empty_after_its_wait(web):
    now = requests.get(f'{web.url}/v1/live/changes?since=now', headers=auth(PREFIXED), timeout=30).json()
    got = requests.get(
        f'{web.url}/v1/live/changes?since={now["last_seq"]}&wait=1', headers=auth(PREFIXED), timeout=30
    )
    assert got.status_code == 200 and got.json()['results'] == []


def test_a_long_poll_page_of_a_prefix_key_is_full_of_its_own_changes_in_one_upstream_request(
    web, couch_admin
):
    # Ten changes of others for each of the key's own, interleaved.
    docs = [{'_id': f'others-{n:03d}'} if n % 11 else {'_id': f't7:own-{n:03d}'} for n in range(110)]
    # (A worker's first request for a prefix also asks the server once how it orders ids: GET /.)
    now = requests.get(f'{web.url}/v1/live/changes?since=now', headers=auth(PREFIXED), timeout=30)
    assert couch_admin.post('live/_bulk_docs', json={'docs': docs}).status_code == 201
    since = now.json()['last_seq']
    page = requests.get(
        f'{web.url}/v1/live/changes?limit=5&since={since}', headers=auth(PREFIXED), timeout=30
    )
    assert page.status_code == 200
    assert [r['id'] for r in page.json()['results']][:5] == [f't7:own-{n:03d}' for n in range(0, 55, 11)]
    assert 'requests=1 ' in page.headers['server-timing']


@pytest.fixture
def one_worker(couch_admin, front, ca_bundle):
    """One worker of four threads over the counting TLS front, at most 20 streams."""
    couch_admin.put('streams')
    try:
        with WebProcess(
            WEB_CONCURRENCY='1',
            GUNICORN_THREADS='4',
            CLOUDANT_URL=front.url,
            CLOUDANT_CA_BUNDLE=ca_bundle,
            CLOUDANT_DATABASES='streams',
            API_KEYS=json.dumps([{'name': 'all', 'key': KEY, 'scopes': ['read', 'write']}]),
            CHANGES_MAX_STREAMS='20',
            CHANGES_HEARTBEAT='1',  # also what lets the test client close a stream at once
        ) as process:
            process.wait_ready('/healthz')
            yield process
    finally:
        couch_admin.delete('streams')


def test_twenty_streams_share_one_upstream_feed_and_the_twenty_first_gets_a_503(one_worker, front):
    url = f'{one_worker.url}/v1/streams/changes'
    with contextlib.ExitStack() as streams:
        opened = [streams.enter_context(EventStream(url, auth())) for _ in range(20)]
        assert all(s.response.status_code == 200 for s in opened)
        with EventStream(url, auth()) as refused:
            assert_problem(refused.response, 503, 'too-many-streams')
            assert refused.response.headers['Retry-After'] == '5'
        before = front.request_count
        put(one_worker, 'shared', {'n': 1}, db='streams')
        assert all(s.changes(1)[0].data['id'] == 'shared' for s in opened)
        feeds = [r for r in front.requests[before:] if '/_changes' in r.path]
        # The feed's long poll that the write ended, and the next one: never one per stream.
        assert 1 <= len(feeds) <= 3, [r.path for r in feeds]


def test_a_stopping_worker_ends_every_stream_with_where_to_resume(pouch, couch_admin):
    keys = json.dumps([{'name': 'all', 'key': KEY, 'scopes': ['read', 'write']}])
    url = 'stopping/changes'
    with (
        serving_database(pouch, couch_admin, 'stopping', API_KEYS=keys) as web,
        EventStream(f'{web.url}/v1/{url}', auth()) as first,
        EventStream(f'{web.url}/v1/{url}', auth()) as second,
    ):
        put(web, 'before-stop', {'n': 1}, db='stopping')
        (seen,) = first.changes(1)
        second.changes(1)
        web.proc.send_signal(signal.SIGTERM)
        for stream in (first, second):
            reset = stream.next(timeout=10)
            assert reset.name == 'reset' and reset.data == {'last_seq': seen.id, 'reason': 'shutdown'}
            assert stream.ended.wait(10), 'the stream ends after its last event'
