"""/sync/{db}, the CouchDB-compatible replication endpoint, against the real server: each principal sees
its own documents under their ids without the prefix, its own checkpoints, CouchDB's answers and
errors; ids outside its part never go upstream (the TLS front's record), and each route's upstream
requests are counted (the front and Server-Timing).

The database (`sync`) holds five batches of a design document, eight of bravo's documents (t2:), one
of no prefix and one of alpha's (t1:d0 … t1:d4), in that order of seqs: each of alpha's changes follows
ten others. alpha and bravo are keys with a prefix, whole and whole2 keys without one
(tests/support/sync_client.py).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from tests.support.sync_client import Sync, api_keys, assert_couch_error, bearer

MINE = [f'd{i}' for i in range(5)]


def seed(couch_admin, db: str) -> None:
    for i in range(5):  # a batch each: the order of seqs within one is the server's
        docs = [{'_id': f't2:x{i}{j}', 'n': j} for j in range(8)]
        docs += [{'_id': f'_design/d{i}', 'views': {}}, {'_id': f'plain{i}'}, {'_id': f't1:d{i}', 'n': i}]
        assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201


@pytest.fixture
def sync(make_client, db, couch_admin, front) -> Sync:
    seed(couch_admin, db)
    caller = Sync(make_client(db, API_KEYS=api_keys()), db)
    # A worker asks once how the server orders ids (GET /): done here, so no test counts it.
    assert caller('GET', '/_changes', params={'limit': 1}).status_code == 200
    front.reset()
    return caller


def upstream(front) -> list[str]:
    """The front's record: method and decoded target of each upstream request."""
    return [f'{r.method} {unquote(r.path)}' for r in front.requests]


def selector_of(record) -> dict:
    """The Mango selector of an upstream `_changes` request: in its query (pouchdb-server) or body."""
    query = parse_qs(urlsplit(record.path).query)
    assert query.get('filter') == ['_selector'], record.path
    return json.loads(query['selector'][0]) if 'selector' in query else json.loads(record.body)['selector']


def strings_in(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return [value] if isinstance(value, str) else []


def rev_of(sync: Sync, doc_id: str, who: str = 'alpha') -> str:
    return sync('GET', '/' + quote(doc_id, safe=''), who=who).json['_rev']


# The server, the database, errors


def test_the_server_welcomes_with_a_uuid_stable_across_requests_and_app_instances(make_client, db):
    apps = [make_client(db, API_KEYS=api_keys()) for _ in range(2)]
    answers = [
        app.simulate_get(path, headers=bearer('alpha')) for app in apps for path in ('/sync/', '/sync')
    ]
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].json['couchdb'] == 'Welcome' and isinstance(answers[0].json['version'], str)
    assert re.fullmatch('[0-9a-f]{32}', answers[0].json['uuid'])
    assert {a.json['uuid'] for a in answers} == {answers[0].json['uuid']}


@pytest.mark.parametrize('path', ['', '/'])
def test_database_info_never_shows_a_prefix_the_shared_counts(sync, path):
    mine = sync('GET', path)
    assert mine.status_code == 200, mine.text
    assert set(mine.json) == {'db_name', 'update_seq', 'instance_start_time'}
    assert mine.json['db_name'] == sync.db and isinstance(mine.json['instance_start_time'], str)
    whole = sync('GET', path, who='whole')
    assert whole.json['doc_count'] == 55 and whole.json['update_seq'] == mine.json['update_seq']


Error = tuple[str | None, str, str, Any, int, str]  # who, method, path ('!': absolute), body, status, error
ERRORS: list[Error] = [
    ('alpha', 'GET', '!/sync/nowhere', None, 404, 'not_found'),
    ('alpha', 'GET', '!/sync/nowhere/_changes', None, 404, 'not_found'),
    ('elsewhere', 'GET', '', None, 404, 'not_found'),
    ('elsewhere', 'POST', '/_revs_diff', {'d0': ['1-a']}, 404, 'not_found'),
    (None, 'GET', '/_changes', None, 401, 'unauthorized'),
    (None, 'GET', '!/sync/', None, 401, 'unauthorized'),
    (None, 'GET', '/d0', None, 401, 'unauthorized'),
    ('wrong', 'GET', '', None, 401, 'unauthorized'),
    ('wrong', 'POST', '/_bulk_docs', {'docs': []}, 401, 'unauthorized'),
    ('reader', 'POST', '/_bulk_docs', {'docs': []}, 403, 'forbidden'),
    ('reader', 'PUT', '/_local/cp', {}, 403, 'forbidden'),
    ('reader', 'DELETE', '/_local/cp?rev=0-1', None, 403, 'forbidden'),
    ('reader', 'PUT', '/d0', {}, 403, 'forbidden'),
    ('reader', 'DELETE', '/d0?rev=1-a', None, 403, 'forbidden'),
    ('writer', 'GET', '/_changes', None, 403, 'forbidden'),
    ('writer', 'POST', '/_revs_diff', {'d0': ['1-a']}, 403, 'forbidden'),
    ('writer', 'POST', '/_bulk_get', {'docs': [{'id': 'd0'}]}, 403, 'forbidden'),
    ('writer', 'GET', '/_local/cp', None, 403, 'forbidden'),
    ('alpha', 'POST', '/_revs_diff', ['d0'], 400, 'bad_request'),
    ('alpha', 'POST', '/_bulk_docs', {'docs': 'd0'}, 400, 'bad_request'),
]


@pytest.mark.parametrize(('who', 'method', 'path', 'body', 'status', 'error'), ERRORS)
def test_errors_are_couchdbs_json_and_nothing_goes_upstream(
    make_client, make_db, db, front, who, method, path, body, status, error
):
    other = make_db()
    client = make_client(db, other, API_KEYS=api_keys(elsewhere=other))  # anonymous reads allowed
    target = path[1:] if path.startswith('!') else f'/sync/{db}{path}'
    front.reset()
    result = client.simulate_request(method, target, json=body, headers=bearer(who))
    assert_couch_error(result, status, error)
    assert front.requests == []


# Checkpoints


@pytest.mark.parametrize(
    ('one', 'two', 'inner'),
    [('alpha', 'bravo', ('t1:', 't2:')), ('whole', 'whole2', ('key:whole:', 'key:whole2:'))],
)
def test_checkpoints_of_the_same_name_are_kept_apart_per_principal(sync, couch_admin, front, one, two, inner):
    for who in (one, two):
        put = sync('PUT', '/_local/same', {'last_seq': who}, who=who)
        assert put.status_code == 201 and put.json['id'] == '_local/same', put.text
    for who, prefix in zip((one, two), inner, strict=True):
        got = sync('GET', '/_local/same', who=who)
        assert got.json['last_seq'] == who and got.json['_id'] == '_local/same'
        stored = couch_admin.get(f'{sync.db}/_local/{quote(prefix, safe="")}same')
        assert stored.json()['last_seq'] == who
    assert {path.split('/', 2)[2] for path in upstream(front)} == {f'_local/{p}same' for p in inner}


def test_a_checkpoint_is_replaced_with_its_rev_and_deleted(sync):
    first = sync('PUT', '/_local/cp', {'seq': 1})
    assert_couch_error(sync('PUT', '/_local/cp', {'seq': 2}), 409, 'conflict')  # no rev: not the latest
    second = sync('PUT', '/_local/cp', {'seq': 2, '_rev': first.json['rev']})
    assert second.status_code == 201 and sync('GET', '/_local/cp').json['seq'] == 2
    assert sync('DELETE', '/_local/cp', params={'rev': second.json['rev']}).status_code == 200
    assert_couch_error(sync('GET', '/_local/cp'), 404, 'not_found')


# The changes feed


def test_a_page_of_changes_is_full_of_the_principals_own_filtered_upstream(sync, front):
    seen: list[str] = []
    since = '0'
    for _ in range(5):
        front.reset()
        page = sync('GET', '/_changes', params={'since': since, 'limit': 2, 'style': 'all_docs'})
        ids = [row['id'] for row in page.json['results']]
        [request] = front.requests  # one upstream request a page, asking for alpha's changes only
        assert urlsplit(request.path).path == f'/{sync.db}/_changes'
        assert strings_in(selector_of(request)) and all('t1:' in s for s in strings_in(selector_of(request)))
        seen, since = seen + ids, page.json['last_seq']
        if len(ids) < 2:
            break
    assert seen == MINE  # pages of 2, 2 and 1 among 50 changes of others


def test_changes_never_show_design_documents_and_documents_come_with_the_clients_ids(sync):
    whole = [row['id'] for row in sync('GET', '/_changes', who='whole').json['results']]
    assert len(whole) == 50 and not [i for i in whole if i.startswith('_')]
    mine = sync('GET', '/_changes', params={'include_docs': 'true'}).json
    assert [(r['id'], r['doc']['_id'], r['doc']['n']) for r in mine['results']] == [
        (f'd{i}', f'd{i}', i) for i in range(5)
    ]
    assert isinstance(mine['last_seq'], int | str)


def test_a_conflict_shows_every_leaf_with_style_all_docs(sync):
    leaves = [{'_id': 'c', '_rev': '1-aaaa', 'v': 1}, {'_id': 'c', '_rev': '1-bbbb', 'v': 2}]
    assert sync('POST', '/_bulk_docs', {'new_edits': False, 'docs': leaves}).status_code == 201

    def row(**params):
        [found] = [r for r in sync('GET', '/_changes', params=params).json['results'] if r['id'] == 'c']
        return sorted(change['rev'] for change in found['changes'])

    assert row(style='all_docs') == ['1-aaaa', '1-bbbb'] and len(row()) == 1
    winner = sync('GET', '/c', params={'conflicts': 'true'}).json
    assert winner['_id'] == 'c' and winner['_conflicts'] == [
        '1-aaaa' if winner['_rev'] == '1-bbbb' else '1-bbbb'
    ]
    both = sync('GET', '/c', params={'open_revs': 'all', 'revs': 'true'}).json
    assert sorted((item['ok']['_id'], item['ok']['_rev']) for item in both) == [
        ('c', '1-aaaa'),
        ('c', '1-bbbb'),
    ]
    [changed] = [
        r
        for r in sync('GET', '/_changes', params={'include_docs': 'true', 'conflicts': 'true'}).json[
            'results'
        ]
        if r['id'] == 'c'
    ]
    assert changed['doc']['_id'] == 'c' and changed['doc']['_conflicts'] == winner['_conflicts']


def test_changes_in_descending_order_come_newest_first(sync):
    oldest_first = [r['id'] for r in sync('GET', '/_changes').json['results']]
    newest = sync('GET', '/_changes', params={'descending': 'true', 'limit': '1'}).json['results']
    assert len(oldest_first) > 1 and [r['id'] for r in newest] == oldest_first[-1:]


@pytest.mark.parametrize('method', ['GET', 'POST'])
def test_the_doc_ids_filter_maps_the_ids_and_asks_for_none_outside(sync, front, method):
    ids = ['d3', 'd1', '_design/d0', 't2:x00', 'nothing']
    if method == 'GET':
        result = sync('GET', '/_changes', params={'filter': '_doc_ids', 'doc_ids': json.dumps(ids)})
    else:
        result = sync('POST', '/_changes', {'doc_ids': ids}, params={'filter': '_doc_ids'})
    assert [row['id'] for row in result.json['results']] == ['d1', 'd3']
    [request] = front.requests
    assert sorted(strings_in(selector_of(request))) == ['t1:d1', 't1:d3', 't1:nothing', 't1:t2:x00']


@pytest.mark.parametrize(
    ('params', 'status', 'error'),
    [
        ({'filter': 'd0/mine'}, 403, 'forbidden'),
        ({'filter': '_view', 'view': 'd0/v'}, 403, 'forbidden'),
        ({'filter': '_selector'}, 403, 'forbidden'),
        ({'feed': 'continuous'}, 400, 'bad_request'),
        ({'feed': 'eventsource'}, 400, 'bad_request'),
        ({'since': 'junk'}, 400, 'bad_request'),
    ],
)
def test_changes_refuses_filters_and_feeds_it_does_not_serve(sync, front, params, status, error):
    assert_couch_error(sync('GET', '/_changes', params=params), status, error)
    assert front.requests == []


def long_poll(sync: Sync, since, timeout_ms: int, write) -> tuple[dict, float]:
    """A long poll from `since` while `write()` runs: its answer, and how long it took."""
    answer: dict[str, Any] = {}
    params = {'feed': 'longpoll', 'since': since, 'timeout': str(timeout_ms)}
    poll = threading.Thread(target=lambda: answer.update(result=sync('GET', '/_changes', params=params)))
    started = time.monotonic()
    poll.start()
    write()
    poll.join(30)
    assert not poll.is_alive()
    assert answer['result'].status_code == 200, answer['result'].text
    return answer['result'].json, time.monotonic() - started


def test_a_long_poll_ends_at_the_principals_change_and_the_next_read_has_it(sync, couch_admin):
    since = sync('GET', '/_changes').json['last_seq']
    page, took = long_poll(sync, since, 20_000, lambda: couch_admin.put(f'{sync.db}/t1%3Alate', json={}))
    assert took < 15  # the change, not the 20 s timeout, ended it
    # A doorbell: the answer is the change itself or an empty page from where the poll stood.
    assert [row['id'] for row in page['results']] in (['late'], [])
    after = sync('GET', '/_changes', params={'since': page['last_seq']}).json['results']
    assert [row['id'] for row in page['results'] + after] == ['late']


def test_a_long_poll_is_not_ended_by_another_principals_change(sync, couch_admin):
    since = sync('GET', '/_changes').json['last_seq']
    page, took = long_poll(sync, since, 1500, lambda: couch_admin.put(f'{sync.db}/t2%3Abravos', json={}))
    assert page['results'] == [] and took >= 1.4


def test_a_long_poll_with_nothing_new_ends_empty_at_its_timeout(sync):
    since = sync('GET', '/_changes').json['last_seq']
    started = time.monotonic()
    result = sync('GET', '/_changes', params={'feed': 'longpoll', 'since': since, 'timeout': '200'})
    assert result.status_code == 200 and result.json['results'] == []
    assert result.json['last_seq'] == since and time.monotonic() - started < 10


# What a replicator asks and writes in batches


def test_revs_diff_maps_ids_and_calls_ids_outside_missing_without_asking_about_them(sync, front, couch_admin):
    rev = rev_of(sync, 'd0')
    design_rev = couch_admin.get(f'{sync.db}/_design/d0').json()['_rev']
    asked = {'d0': [rev, '2-new'], 'd1': [rev_of(sync, 'd1')], '_design/d0': [design_rev], 'x00': ['1-a']}
    front.reset()
    diff = sync('POST', '/_revs_diff', asked).json
    assert sorted(diff) == ['_design/d0', 'd0', 'x00']
    assert diff['d0']['missing'] == ['2-new'] and diff['x00'] == {'missing': ['1-a']}
    assert diff['_design/d0'] == {'missing': [design_rev]}  # though the database has it
    [request] = front.requests
    assert sorted(json.loads(request.body)) == ['t1:d0', 't1:d1', 't1:x00']
    front.reset()
    assert sync('POST', '/_revs_diff', {'_design/d0': [design_rev]}).json == {
        '_design/d0': {'missing': [design_rev]}
    }
    assert front.requests == []


def test_bulk_get_gives_the_revisions_asked_for_under_the_clients_ids(sync, front):
    rev = rev_of(sync, 'd2')
    front.reset()
    got = sync(
        'POST', '/_bulk_get', {'docs': [{'id': 'd2', 'rev': rev}]}, params={'revs': 'true', 'latest': 'true'}
    )
    [result] = got.json['results']
    [item] = result['docs']
    assert result['id'] == 'd2' and item['ok']['_id'] == 'd2' and item['ok']['_rev'] == rev
    assert item['ok']['_revisions']['start'] == 1 and item['ok']['n'] == 2
    [request] = front.requests
    assert json.loads(request.body)['docs'] == [{'id': 't1:d2', 'rev': rev}]


def _without_id(result: dict) -> str:
    return json.dumps(result).replace(json.dumps(result['id']), '"ID"')


def test_bulk_get_answers_alike_for_an_id_outside_whether_or_not_it_exists(sync, front, couch_admin):
    design_rev = couch_admin.get(f'{sync.db}/_design/d0').json()['_rev']
    pairs = [('_design/d0', '_design/none'), ('t2:x00', 't2:none')]  # the first of each exists upstream
    asked = [{'id': i, 'rev': design_rev} for pair in pairs for i in pair]
    front.reset()
    got = sync('POST', '/_bulk_get', {'docs': asked}, params={'revs': 'true', 'latest': 'true'})
    results = got.json['results']
    assert [r['id'] for r in results] == [i for pair in pairs for i in pair]
    answers = [_without_id(r) for r in results]
    assert answers[0] == answers[1] and answers[2] == answers[3]
    assert not any('ok' in item for r in results for item in r['docs'])
    [request] = front.requests
    assert [d['id'] for d in json.loads(request.body)['docs']] == ['t1:t2:x00', 't1:t2:none']


def test_bulk_get_calls_an_id_outside_not_found(sync):
    asked = [{'id': i, 'rev': '1-abcd'} for i in ('_design/d0', 't2:x00', 'nothing')]
    results = sync('POST', '/_bulk_get', {'docs': asked}).json['results']
    for doc, result in zip(asked, results, strict=True):
        assert result == {
            'id': doc['id'],
            'docs': [
                {'error': {'id': doc['id'], 'rev': '1-abcd', 'error': 'not_found', 'reason': 'missing'}}
            ],
        }


def test_bulk_docs_writes_with_the_prefix_and_refuses_design_documents_row_by_row(sync, front, couch_admin):
    docs = [
        {'_id': 'n1', '_rev': '1-aaaa', 'v': 1},
        {'_id': '_design/evil', '_rev': '1-bbbb', 'views': {}},
        {'_id': 'n2', '_rev': '1-cccc', 'v': 2},
    ]
    written = sync('POST', '/_bulk_docs', {'new_edits': False, 'docs': docs})
    assert written.status_code == 201
    [row] = written.json
    assert row['id'] == '_design/evil' and row['error'] == 'forbidden' and row['reason']
    [request] = front.requests
    assert [d['_id'] for d in json.loads(request.body)['docs']] == ['t1:n1', 't1:n2']
    assert couch_admin.get(f'{sync.db}/t1%3An2').json() == {'_id': 't1:n2', '_rev': '1-cccc', 'v': 2}
    assert couch_admin.get(f'{sync.db}/_design%2Fevil').status_code == 404


def test_bulk_docs_with_new_edits_answers_each_row_under_the_clients_id(sync):
    rev = rev_of(sync, 'd0')
    written = sync(
        'POST', '/_bulk_docs', {'docs': [{'_id': 'd0', '_rev': rev, 'n': 9}, {'_id': 'd1', 'n': 9}]}
    )
    ok, conflict = written.json
    assert ok['id'] == 'd0' and ok['ok'] is True and ok['rev'].startswith('2-')
    assert conflict == {'id': 'd1', 'error': 'conflict', 'reason': 'Document update conflict.'}  # our words
    assert sync('GET', '/d0').json['n'] == 9


def test_all_docs_lists_the_principals_documents_only(sync):
    listed = sync('GET', '/_all_docs', params={'include_docs': 'true'}).json
    assert [(r['id'], r['key'], r['doc']['_id']) for r in listed['rows']] == [(i, i, i) for i in MINE]
    assert listed['total_rows'] == 5
    ranged = sync('POST', '/_all_docs', {}, params={'startkey': '"d1"', 'endkey': '"d3"'}).json['rows']
    assert [r['id'] for r in ranged] == ['d1', 'd2', 'd3']
    whole = [r['id'] for r in sync('GET', '/_all_docs', who='whole').json['rows']]
    assert len(whole) == 50 and not [i for i in whole if i.startswith('_')]


def test_all_docs_by_keys_calls_ids_outside_not_found(sync):
    keys = ['d1', 'x00', 't2:x00', '_design/d0', 'nothing']
    rows = sync('POST', '/_all_docs', {'keys': keys}).json['rows']
    assert rows[0] == {'id': 'd1', 'key': 'd1', 'value': {'rev': rev_of(sync, 'd1')}}
    assert rows[1:] == [{'key': k, 'error': 'not_found'} for k in keys[1:]]


# One document, its revisions and attachments


def test_a_document_is_written_read_and_deleted_under_its_own_id(sync, couch_admin):
    put = sync('PUT', '/new', {'v': 1})
    assert put.status_code == 201 and put.json['id'] == 'new'
    assert couch_admin.get(f'{sync.db}/t1%3Anew').json()['_rev'] == put.json['rev']
    got = sync('GET', '/new', params={'revs': 'true'}).json
    assert got['_id'] == 'new' and got['v'] == 1 and got['_revisions']['start'] == 1
    opened = sync('GET', '/new', params={'open_revs': json.dumps([put.json['rev']])}).json
    assert [item['ok']['_id'] for item in opened] == ['new']
    assert sync('DELETE', '/new', params={'rev': put.json['rev']}).json['ok'] is True
    assert_couch_error(sync('GET', '/new'), 404, 'not_found')


def test_an_id_holding_a_slash_is_one_document(sync, couch_admin):
    assert sync('PUT', '/a%2Fb', {'v': 1}).status_code == 201
    assert couch_admin.get(f'{sync.db}/t1%3Aa%2Fb').status_code == 200
    assert sync('GET', '/a%2Fb').json['_id'] == 'a/b'


@pytest.mark.parametrize('path', ['/x00', '/t2%3Ax00', '/plain0', '/t1%3Ad0'])
def test_another_principals_document_does_not_exist(sync, path):
    assert_couch_error(sync('GET', path), 404, 'not_found')


def test_an_attachment_is_read_by_its_documents_id(sync):
    attachment = {'a.txt': {'content_type': 'text/plain', 'data': 'aGVsbG8='}}
    assert sync('PUT', '/att', {'_attachments': attachment}).status_code == 201
    got = sync('GET', '/att/a.txt')
    assert got.status_code == 200 and got.content == b'hello' and got.headers['content-type'] == 'text/plain'
    assert_couch_error(sync('GET', '/att/a.txt', who='bravo'), 404, 'not_found')


REFUSED = [
    ('GET', '/_design/d0'),
    ('GET', '/_design%2Fd0'),
    ('GET', '/_design/d0/_view/v'),
    ('PUT', '/_design/evil'),
    ('PUT', '/_design%2Fevil'),
    ('DELETE', '/_design%2Fd0?rev=1-a'),
    ('POST', '/_find'),
    ('GET', '/_index'),
    ('POST', '/_index'),
    ('GET', '/_security'),
    ('PUT', '/_security'),
    ('GET', '/_design_docs'),
    ('POST', '/_purge'),
    ('POST', '/_compact'),
    ('GET', '/_local'),
]


@pytest.mark.parametrize(('method', 'path'), REFUSED)
@pytest.mark.parametrize('who', ['alpha', 'whole'])
def test_design_documents_queries_and_administration_never_go_upstream(sync, front, method, path, who):
    target, _, query = path.partition('?')
    body: dict | None = {'selector': {}, 'views': {}} if method in ('PUT', 'POST') else None
    result = sync(method, target, body, who=who, query_string=query or None)
    assert result.status_code in (403, 404), result.text
    assert_couch_error(result, result.status_code, 'forbidden' if result.status_code == 403 else 'not_found')
    assert front.requests == []


def test_a_new_document_by_post_lands_in_the_principals_part(sync, couch_admin):
    created = sync('POST', '', {'_id': 'posted', 'v': 1})
    assert created.status_code == 201 and created.json['id'] == 'posted'
    assert couch_admin.get(f'{sync.db}/t1%3Aposted').status_code == 200
    assert_couch_error(sync('POST', '', {'_id': '_design/evil'}), 403, 'forbidden')


@pytest.mark.parametrize(
    ('method', 'body', 'params'),
    [('PUT', {'v': 2}, {}), ('PUT', {'v': 2, '_rev': '1-stale'}, {}), ('DELETE', None, {'rev': '1-stale'})],
)
def test_a_write_over_another_revision_is_couchdbs_conflict(sync, method, body, params):
    assert_couch_error(sync(method, '/d0', body, params=params), 409, 'conflict')


# Round trips, bodies, hostile input

ROUND_TRIPS = {  # route: method, path, body, params
    'database info': ('GET', '', None, {}),
    '_revs_diff': ('POST', '/_revs_diff', {'d0': ['1-x'], '_design/d0': ['1-y']}, {}),
    '_bulk_get': ('POST', '/_bulk_get', {'docs': [{'id': 'd0'}, {'id': '_design/d0'}]}, {'revs': 'true'}),
    '_bulk_docs': (
        'POST',
        '/_bulk_docs',
        {
            'new_edits': False,
            'docs': [{'_id': 'rt', '_rev': '1-abcd'}, {'_id': '_design/rt', '_rev': '1-abcd'}],
        },
        {},
    ),
    '_changes': ('GET', '/_changes', None, {'style': 'all_docs', 'limit': '3'}),
    '_changes to the end': ('GET', '/_changes', None, {'style': 'all_docs'}),
    '_local': ('GET', '/_local/cp', None, {}),
    'document': ('GET', '/d0', None, {'revs': 'true', 'conflicts': 'true'}),
}


@pytest.mark.parametrize(
    ('who', 'route'),
    [
        *(('alpha', route) for route in ROUND_TRIPS),
        *(('whole', route) for route in ROUND_TRIPS),
    ],
)
def test_each_route_costs_one_upstream_request(sync, front, who, route):
    method, path, body, params = ROUND_TRIPS[route]
    if route == '_local':
        assert sync('PUT', '/_local/cp', {'seq': 1}, who=who).status_code == 201
    if route == 'document' and who == 'whole':
        path = '/t1%3Ad0'
    if route == '_changes' and who == 'whole':
        # A worker learns how many design documents a database holds from the first page that meets
        # them (that one may take two requests); from then on a page that meets them takes one.
        sync(method, path, body, who=who, params=params)
    front.reset()
    result = sync(method, path, body, who=who, params=params)
    assert result.status_code in (200, 201), result.text
    assert front.request_count == 1, upstream(front)
    assert 'requests=1 ' in result.headers['server-timing']


def test_bodies_too_large_malformed_or_multipart_are_refused_in_couchdbs_words(make_client, db, front):
    sync = Sync(make_client(db, API_KEYS=api_keys(), API_MAX_BODY_BYTES='1024'), db)
    json_type = {'Content-Type': 'application/json'}
    assert_couch_error(
        sync('POST', '/_bulk_docs', {'docs': [{'_id': 'big', 'pad': 'x' * 2000}]}), 413, 'too_large'
    )
    malformed = sync('POST', '/_bulk_docs', body=b'{"docs": [', headers=json_type)
    assert_couch_error(malformed, 400, 'bad_request')
    multipart = {'Content-Type': 'multipart/related; boundary="abc"'}
    part = b'--abc\r\nContent-Type: application/json\r\n\r\n{"v": 1}\r\n--abc--\r\n'
    for method, path in [('POST', '/_bulk_docs'), ('PUT', '/doc')]:
        refused = sync(method, path, body=part, headers=multipart)
        assert refused.status_code in (400, 415)
        names = {400: 'bad_request', 415: 'bad_content_type'}
        assert_couch_error(refused, refused.status_code, names[refused.status_code])
    assert front.requests == []


HOSTILE = [  # method, path, body
    ('POST', '/_revs_diff', 'd0'),
    ('POST', '/_revs_diff', {'d0': 'x'}),
    ('POST', '/_revs_diff', {'d0': [1, None]}),
    ('POST', '/_bulk_get', []),
    ('POST', '/_bulk_get', {'docs': {'id': 'd0'}}),
    ('POST', '/_bulk_get', {'docs': [1]}),
    ('POST', '/_bulk_get', {'docs': [{'id': 5}, {'id': None}, {}]}),
    ('POST', '/_bulk_docs', 7),
    ('POST', '/_bulk_docs', {'docs': None}),
    ('POST', '/_bulk_docs', {'docs': ['d0']}),
    ('POST', '/_bulk_docs', {'docs': [{'_id': 7}, {'_id': None}, {'_id': ['x']}]}),
    ('POST', '/_bulk_docs', {'new_edits': False, 'docs': [{'_id': 7, '_rev': '1-a'}, {}]}),
    ('POST', '/_bulk_docs', {'new_edits': False, 'docs': [{'_id': 'norev'}]}),
    ('POST', '/_bulk_docs', {'docs': [{'_id': 'huge', 'n': 2**70}]}),
    ('POST', '/_all_docs', {'keys': 'd0'}),
    ('POST', '/_all_docs', {'keys': [1, None, {}]}),
    ('GET', '/_all_docs?limit=99999999999999999999', None),
    ('GET', '/_all_docs?startkey=1', None),
    ('GET', '/_all_docs?keys=junk', None),
    ('POST', '/_changes?filter=_doc_ids', ['d0']),
    ('POST', '/_changes?filter=_doc_ids', {'doc_ids': 'd0'}),
    ('POST', '/_changes?filter=_doc_ids', {'doc_ids': [1, None, {}]}),
    ('GET', '/_changes?filter=_doc_ids&doc_ids=junk', None),
    ('GET', '/_changes?limit=99999999999999999999', None),
    ('GET', '/_changes?limit=999999999999', None),
    ('GET', '/_changes?limit=-1', None),
    ('GET', '/_changes?since=junk', None),
    ('GET', '/_changes?since=-1', None),
    ('GET', '/_changes?since=99999999999999999999999999', None),
    ('GET', '/_changes?feed=longpoll&timeout=junk', None),
    ('GET', '/_changes?include_docs=yes', None),
    ('PUT', '/_local/cp', ['x']),
    ('PUT', '/_local/cp', {'_rev': 5}),
    ('PUT', '/d0', 'x'),
    ('PUT', '/d0?new_edits=false', {'_rev': 'junk'}),
    ('GET', '/d0?open_revs=[5]', None),
    ('GET', '/d0?rev=junk', None),
    ('DELETE', '/d0?rev=junk', None),
    ('POST', '', ['x']),
    ('GET', '/%FF', None),
    pytest.param(
        'GET',
        '/d0?open_revs=junk',
        None,
    ),
    pytest.param(
        'POST',
        '/_revs_diff',
        {'_design/a': ['1-a'], '_design/b': ['1-b']},
    ),
    pytest.param(
        'POST',
        '/_bulk_docs',
        {'docs': [{'_id': 'dup', 'v': 1}, {'_id': 'dup', 'v': 2}]},
    ),
]


@pytest.mark.parametrize(('method', 'path', 'body'), HOSTILE)
def test_hostile_input_is_never_a_server_error(sync, method, path, body):
    target, _, query = path.partition('?')
    result = sync(method, target, body, query_string=query or None)
    assert result.status_code < 500, result.text
    if result.status_code >= 400:
        assert_couch_error(result, result.status_code, result.json['error'])
