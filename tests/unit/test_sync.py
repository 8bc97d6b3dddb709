"""/sync/{db} without a server: the namespace that maps a principal's ids in and out, CouchDB's error
shape, and routes that never hand the Couch port an id outside the principal's part (the fake
records its calls, and here the ids it was given)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.config.keys import ApiKey
from api.edge.request_input import MAX_ID_LENGTH
from api.errors import Problem, couch_error_document
from api.sync.namespace import Namespace
from api.sync.wire import forbidden, seq
from api.upstream.couch import BulkWritten, Changes, Ids, Json, Replication, Rows
from tests.support.fakes import FakeCouch
from tests.support.sync_client import Sync, api_keys, assert_couch_error

MINE = Namespace('t1:', 't1:')
WHOLE = Namespace('', 'key:whole:')


@pytest.mark.parametrize(
    ('doc_id', 'inner'),
    [
        ('d1', 't1:d1'),
        ('a/b', 't1:a/b'),
        ('t2:x', 't1:t2:x'),  # another's id names one of the principal's own
        ('ü', 't1:ü'),
        ('x' * MAX_ID_LENGTH, 't1:' + 'x' * MAX_ID_LENGTH),
        ('x' * (MAX_ID_LENGTH + 1), None),
        ('_design/x', None),
        ('_local/x', None),
        ('_all_docs', None),
        ('', None),
        (5, None),
        (None, None),
        (['d1'], None),
    ],
)
def test_an_id_goes_in_with_the_prefix_unless_it_is_not_the_principals_to_name(doc_id, inner):
    assert MINE.inward(doc_id) == inner
    assert WHOLE.inward(doc_id) == (None if inner is None else inner[3:])


@pytest.mark.parametrize(
    ('inner', 'mine', 'whole'),
    [
        ('t1:d1', 'd1', 't1:d1'),
        ('t1:t2:x', 't2:x', 't1:t2:x'),
        ('t2:d1', None, 't2:d1'),
        ('T1:d1', None, 'T1:d1'),
        ('plain', None, 'plain'),
        ('_design/x', None, None),
        ('_local/t1:x', None, None),
    ],
)
def test_an_id_comes_out_without_the_prefix_and_none_outside_the_principals_part(inner, mine, whole):
    assert MINE.outward(inner) == mine
    assert WHOLE.outward(inner) == whole


@pytest.mark.parametrize('doc_id', ['d1', 'a/b', 't2:x', 'ü', ' '])
def test_in_and_out_again_is_the_same_id(doc_id):
    for space in (MINE, WHOLE):
        inner = space.inward(doc_id)
        assert inner is not None and space.outward(inner) == doc_id


@pytest.mark.parametrize(
    ('key', 'prefix', 'local'),
    [
        (ApiKey('alpha', b'', id_prefix='t1:'), 't1:', 't1:'),
        (ApiKey('whole', b''), '', 'key:whole:'),
        (None, '', 'anonymous:'),
    ],
)
def test_checkpoints_are_kept_apart_by_prefix_by_key_name_and_for_anonymous_readers(key, prefix, local):
    space = Namespace.of(key)
    assert (space.prefix, space.local_prefix) == (prefix, local)
    assert space.local('cp') == local + 'cp'


def test_a_checkpoint_name_too_long_and_an_id_outside_are_problems():
    with pytest.raises(Problem) as too_long:
        MINE.local('x' * (MAX_ID_LENGTH + 1))
    assert too_long.value.status_code == 400
    assert MINE.required('d1') == 't1:d1'
    with pytest.raises(Problem) as outside:
        MINE.required('_design/x')
    assert outside.value.status_code == 404


def test_documents_are_mapped_in_and_out_and_left_alone_otherwise():
    sent = {'_id': 'd1', '_rev': '1-a', 'v': 1}
    assert MINE.doc_in(sent) == {'_id': 't1:d1', '_rev': '1-a', 'v': 1} and sent['_id'] == 'd1'
    assert [MINE.doc_in(d) for d in ({'v': 1}, {'_id': '_design/x'}, {'_id': 5}, 'd1', None)] == [None] * 5
    assert MINE.doc_out({'_id': 't1:d1', 'v': 1}) == {'_id': 'd1', 'v': 1}
    for untouched in ({'_id': 't2:d1'}, {'v': 1}, {'_id': 5}, 'text', [1]):
        assert MINE.doc_out(untouched) == untouched


def test_wire_rows_and_seqs_are_couchdbs():
    assert forbidden('_design/x')['id'] == '_design/x' and forbidden(5)['id'] == ''
    assert set(forbidden('x')) == {'id', 'error', 'reason'} and forbidden('x')['error'] == 'forbidden'
    assert [seq('0'), seq('12'), seq('12-g1AAAA'), seq('1' * 16)] == [0, 12, '12-g1AAAA', '1' * 16]


@pytest.mark.parametrize(
    ('status', 'error'),
    [
        (400, 'bad_request'),
        (401, 'unauthorized'),
        (403, 'forbidden'),
        (404, 'not_found'),
        (409, 'conflict'),
        (413, 'too_large'),
        (415, 'bad_content_type'),
        (500, 'unknown_error'),
    ],
)
def test_couch_errors_are_named_as_couchdb_names_them(status, error):
    document = json.loads(couch_error_document(Problem(status, 'whatever', 'Said here.')))
    assert document == {'error': error, 'reason': 'Said here.'}


# The app over the fake port


class RecordingCouch(FakeCouch):
    """The fake, recording every document id handed to its batch and replication calls."""

    def __init__(self, *databases: str) -> None:
        super().__init__(*databases)
        self.ids: list[str] = []

    def revs_diff(self, db: str, revs: dict[str, Ids]) -> Json:
        self.ids += list(revs)
        return super().revs_diff(db, revs)

    def bulk_get(self, db: str, docs: Rows, *, params: dict[str, str], max_bytes: int) -> Rows:
        self.ids += [d['id'] for d in docs]
        return super().bulk_get(db, docs, params=params, max_bytes=max_bytes)

    def replicate(self, db: str, docs: Rows) -> Rows:
        self.ids += [d['_id'] for d in docs]
        return super().replicate(db, docs)

    def bulk(self, db: str, docs: Rows) -> BulkWritten:
        self.ids += [d['_id'] for d in docs]
        return super().bulk(db, docs)

    def lookup(self, db: str, ids: Ids, max_bytes: int | None = None) -> Rows:
        self.ids += list(ids)
        return super().lookup(db, ids, max_bytes)

    def changes(self, db: str, **kwargs: Any) -> Changes:
        self.ids += (kwargs.get('replication') or Replication()).doc_ids or []
        return super().changes(db, **kwargs)


class FailingCouch(FakeCouch):
    def database_info(self, db: str) -> Json:
        raise RuntimeError('secret-internal-detail')


def stocked(fake: FakeCouch) -> FakeCouch:
    docs = fake.dbs['foundbite']
    for doc_id in ('t1:d0', 't1:d1', 't2:x0', 'plain', '_design/x'):
        docs[doc_id] = {'_id': doc_id, '_rev': '1-fake'}
    return fake


@pytest.fixture
def couch() -> RecordingCouch:
    return RecordingCouch('foundbite')


@pytest.fixture
def sync(make_client, couch) -> Sync:
    return Sync(make_client(stocked(couch), API_KEYS=api_keys()), 'foundbite')


def test_the_server_uuid_is_the_same_for_the_same_settings_and_differs_for_another_database(make_client):
    def uuid(url: str) -> str:
        return make_client(CLOUDANT_URL=url).simulate_get('/sync/').json['uuid']

    assert uuid('http://127.0.0.1:5984') == uuid('http://127.0.0.1:5984') != uuid('http://127.0.0.1:5985')


def test_errors_under_sync_are_couchdbs_and_elsewhere_problem_documents(sync, couch):
    nowhere = Sync(sync.client, 'nowhere')
    assert_couch_error(nowhere('GET'), 404, 'not_found')
    assert_couch_error(nowhere('GET', '/_all_docs'), 404, 'not_found')
    elsewhere = sync.client.simulate_get('/v1/nowhere/docs')
    assert elsewhere.status_code == 404 and elsewhere.headers['content-type'] == 'application/problem+json'
    assert_couch_error(sync('POST', '/_bulk_docs', {'docs': []}, who='reader'), 403, 'forbidden')
    assert_couch_error(sync('POST', '/_bulk_docs', {'docs': []}, who=None), 401, 'unauthorized')
    assert couch.calls == []


def test_an_unexpected_error_under_sync_is_couchdbs_too_and_tells_nothing(make_client):
    result = Sync(make_client(FailingCouch('foundbite'), API_KEYS=api_keys()), 'foundbite')('GET')
    assert 'secret-internal-detail' not in assert_couch_error(result, 500, 'unknown_error')


def test_database_info_shows_the_counts_only_to_a_principal_without_prefix(sync):
    assert 'doc_count' not in sync('GET').json and sync('GET', who='whole').json['doc_count'] == 5


def test_checkpoints_are_stored_under_the_principals_local_name(sync, couch):
    assert sync('PUT', '/_local/cp', {'seq': 1}).status_code == 201
    assert sync('PUT', '/_local/cp', {'seq': 2}, who='whole').status_code == 201
    stored = couch.dbs['foundbite']
    assert stored['_local/t1:cp']['seq'] == 1 and stored['_local/key:whole:cp']['seq'] == 2
    assert sync('GET', '/_local/cp', who='bravo').status_code == 404


Case = tuple[str, str, Any]  # method, path, body
NEVER_ASKED: list[Case] = [  # a document or query outside, or a request refused before the port
    ('GET', '/_design/x', None),
    ('GET', '/_design%2Fx', None),
    ('GET', '/_design/x/att.txt', None),
    ('PUT', '/_design%2Fx', {'views': {}}),
    ('DELETE', '/_design%2Fx?rev=1-fake', None),
    ('PUT', '/_security', {}),
    ('GET', '/_security', None),
    ('POST', '/_find', {'selector': {}}),
    ('GET', '/_index', None),
    ('POST', '', {'_id': '_design/x'}),
    ('PUT', '/d0/att.txt', {}),
    ('GET', '/_changes?filter=x/mine', None),
    ('GET', '/_changes?feed=continuous', None),
    ('GET', '/_changes?since=junk', None),
    ('POST', '/_revs_diff', {'d0': 'not-a-list'}),
    ('POST', '/_bulk_docs', {'docs': 'd0'}),
]


@pytest.mark.parametrize(('method', 'path', 'body'), NEVER_ASKED)
def test_refused_requests_never_call_the_port(sync, couch, method, path, body):
    target, _, query = path.partition('?')
    result = sync(method, target, body, query_string=query or None, who='whole')
    assert result.status_code in (400, 403, 404), result.text
    assert_couch_error(result, result.status_code, result.json['error'])
    assert couch.calls == []


OUTSIDE = ['_design/x', '_local/x', '_all_docs', 7, None]
BATCHES: list[Case] = [  # bodies naming ids inside (d0, t2:x0) and OUTSIDE
    ('POST', '/_revs_diff', {'d0': ['1-fake'], 't2:x0': ['1-fake'], '_design/x': ['1-fake']}),
    ('POST', '/_bulk_get', {'docs': [{'id': i, 'rev': '1-fake'} for i in ['d0', 't2:x0', *OUTSIDE]]}),
    (
        'POST',
        '/_bulk_docs',
        {'new_edits': False, 'docs': [{'_id': i, '_rev': '2-x'} for i in ['d0', *OUTSIDE]]},
    ),
    ('POST', '/_bulk_docs', {'docs': [{'_id': i} for i in ['new', *OUTSIDE]]}),
    ('POST', '/_all_docs', {'keys': ['d0', 't2:x0', *OUTSIDE]}),
    ('POST', '/_changes?filter=_doc_ids', {'doc_ids': ['d0', 't2:x0', *OUTSIDE]}),
]


@pytest.mark.parametrize(('method', 'path', 'body'), BATCHES)
def test_batches_hand_the_port_only_the_principals_ids(sync, couch, method, path, body):
    target, _, query = path.partition('?')
    result = sync(method, target, body, query_string=query or None)
    assert result.status_code in (200, 201), result.text
    assert couch.ids and all(i.startswith('t1:') and not i.startswith('t1:_') for i in couch.ids), couch.ids


def test_batches_of_ids_outside_only_are_answered_without_handing_the_port_one(sync, couch):
    diff = sync('POST', '/_revs_diff', {'_design/x': ['1-fake']})
    assert diff.json == {'_design/x': {'missing': ['1-fake']}}
    got = sync('POST', '/_bulk_get', {'docs': [{'id': '_design/x', 'rev': '1-fake'}]}).json['results']
    assert got == [
        {
            'id': '_design/x',
            'docs': [
                {'error': {'id': '_design/x', 'rev': '1-fake', 'error': 'not_found', 'reason': 'missing'}}
            ],
        }
    ]
    written = sync('POST', '/_bulk_docs', {'new_edits': False, 'docs': [{'_id': '_design/x', '_rev': '2-x'}]})
    assert written.status_code == 201 and [row['error'] for row in written.json] == ['forbidden']
    assert couch.ids == [] and couch.dbs['foundbite']['_design/x']['_rev'] == '1-fake'


def test_revs_diff_calls_several_ids_outside_missing(sync, couch):
    asked = {'_design/a': ['1-a'], 'd0': ['2-new'], '_design/b': ['1-b'], '_local/c': ['1-c']}
    diff = sync('POST', '/_revs_diff', asked)
    assert diff.status_code == 200, diff.text
    assert diff.json == {doc_id: {'missing': revs} for doc_id, revs in asked.items()}
    assert couch.ids == ['t1:d0']


def test_answers_carry_the_clients_ids(sync):
    changes = sync('GET', '/_changes', params={'include_docs': 'true'}).json['results']
    assert [(r['id'], r['doc']['_id']) for r in changes] == [('d0', 'd0'), ('d1', 'd1')]
    listed = sync('GET', '/_all_docs').json['rows']
    assert [r['id'] for r in listed] == ['d0', 'd1']
    got = sync('POST', '/_bulk_get', {'docs': [{'id': 'd1'}]}).json['results']
    assert got == [{'id': 'd1', 'docs': [{'ok': {'_id': 'd1', '_rev': '1-fake'}}]}]
    assert sync('GET', '/d0').json == {'_id': 'd0', '_rev': '1-fake'}
    assert sync('GET', '/d0', params={'open_revs': 'all'}).json == [{'ok': {'_id': 'd0', '_rev': '1-fake'}}]
    assert_couch_error(sync('GET', '/x0'), 404, 'not_found')


@pytest.mark.parametrize(
    'member',
    [
        {'_rev': 'junk'},
        {'_deleted': 'yes'},
        {'_revisions': {'start': '2', 'ids': ['a']}},
        {'_revisions': ['a']},
        {'_attachments': {'a.txt': 5}},
        {'_attachments': {'a.txt': {'content_type': 'text/plain'}}},  # neither data nor stub
        {'_shown': 1},
    ],
)
def test_a_malformed_or_unknown_special_member_is_a_400_before_the_port(sync, couch, member):
    before = len(couch.calls)
    for method, path, sent in (
        ('POST', '/_bulk_docs', {'new_edits': False, 'docs': [{'_id': 'ok', '_rev': '1-a'} | member]}),
        ('PUT', '/w1', {'v': 1} | member),
        ('POST', '', {'v': 1} | member),
    ):
        assert_couch_error(sync(method, path, sent), 400, 'bad_request')
    assert len(couch.calls) == before


def test_members_couchdb_ignores_on_a_write_are_left_out(sync, couch):
    doc = {'_id': 'c1', '_rev': '1-a', 'v': 1, '_conflicts': ['1-b'], '_revs_info': []}
    assert sync('POST', '/_bulk_docs', {'new_edits': False, 'docs': [doc]}).status_code == 201
    assert couch.dbs['foundbite']['t1:c1'] == {'_id': 't1:c1', '_rev': '1-a', 'v': 1}
