"""Bulk writes and lookups without a server (FakeCouch): what reaches the port, and the quorum flag."""

from __future__ import annotations

from api.upstream.couch import BulkWritten, Rows
from tests.support.fakes import FakeCouch


class BelowQuorum(FakeCouch):
    """Answers bulk writes as CouchDB does with 202: written, on fewer nodes than the quorum."""

    def bulk(self, db: str, docs: Rows) -> BulkWritten:
        return BulkWritten(super().bulk(db, docs).results, quorum=False)


def test_a_202_marks_the_written_results_quorum_false(make_client):
    couch = BelowQuorum('foundbite')
    couch.dbs['foundbite']['d00'] = {'_id': 'd00', '_rev': '1-fake'}
    docs = [{'_id': 'new'}, {'_id': 'd00', '_rev': '9-stale'}]
    results = make_client(couch).simulate_post('/v1/foundbite/bulk', json={'docs': docs}).json['results']
    assert results[0] == {'id': 'new', 'rev': '1-fake', 'status': 201, 'quorum': False}
    assert results[1]['status'] == 412 and 'quorum' not in results[1]


def test_refused_items_never_reach_the_port(client, couch):
    docs = [{'_id': '_design/x'}, {'_id': 'a', '_x': 1}, {'_rev': '1-abc'}, {'_id': 'b', '_deleted': True}]
    result = client.simulate_post('/v1/foundbite/bulk', json={'docs': docs})
    assert [r['status'] for r in result.json['results']] == [400, 400, 400, 400]
    assert not any(call == 'bulk' for call, _ in couch.calls)


def test_a_conflict_is_read_back_once_for_all_items(client, couch):
    docs = [{'_id': f'd{n:02d}', '_rev': '7-stale'} for n in range(5)] + [{'_id': 'ghost', '_rev': '1-abc'}]
    result = client.simulate_post('/v1/foundbite/bulk', json={'docs': docs})
    assert [r['status'] for r in result.json['results']] == [412] * 5 + [404]
    assert couch.calls.count(('revisions', 'foundbite')) == 1


def test_a_lookup_of_nothing_asks_nothing(client, couch):
    assert client.simulate_post('/v1/foundbite/lookup', json={'ids': []}).json == {'docs': []}
    assert not any(call == 'lookup' for call, _ in couch.calls)
