"""Export against the real server behind the counting TLS front: paging, order, connections."""

import gzip
import json
import logging

import pytest

from tests.support.problems import assert_problem
from tests.support.request_log import capture_request_lines, export_lines, request_lines


@pytest.fixture
def db(make_db, couch_admin):
    name = make_db()
    docs = [{'_id': f'doc-{i:03d}', 'n': i, 'text': 'é' * i} for i in range(25)]
    assert couch_admin.post(f'{name}/_bulk_docs', json={'docs': docs}).status_code == 201
    return name


def test_export_pages_upstream_in_batches_on_one_connection(make_client, front, db, couch_admin, caplog):
    capture_request_lines(caplog)
    client = make_client(EXPORT_BATCH_SIZE='10')
    client.simulate_get(f'/v1/{db}/docs', params={'limit': 1})  # learns how the server orders ids
    front.close_all_connections()
    front.reset()
    result = client.simulate_get(f'/v1/{db}/export')
    assert result.status_code == 200
    docs = [json.loads(line) for line in result.text.splitlines()]
    expected = couch_admin.get(f'{db}/_all_docs', params={'include_docs': 'true'}).json()['rows']
    assert docs == [row['doc'] for row in expected]
    # 25 documents in batches of 10: three _all_docs requests, all on one TLS connection.
    assert [r.path.split('?')[0] for r in front.requests] == [f'/{db}/_all_docs'] * 3
    assert front.accepted_connections == 1
    # The request line went out with the headers (first batch); the export line has the whole export.
    assert request_lines(caplog)[-2]['upstream_requests'] == 1  # [-1]: the export line
    assert 'requests=1 ' in result.headers['server-timing']
    [line] = export_lines(caplog)
    assert (line['complete'], line['documents'], line['upstream_requests']) == (True, 25, 3)
    assert (line['new_connections'], line['reused_connections']) == (1, 2)


def test_export_of_a_key_range_stops_at_the_end_key(make_client, front, db):
    client = make_client(EXPORT_BATCH_SIZE='4')
    result = client.simulate_get(f'/v1/{db}/export', params={'start_key': 'doc-003', 'end_key': 'doc-012'})
    assert [json.loads(line)['n'] for line in result.text.splitlines()] == list(range(3, 13))
    assert front.request_count == 3  # 4 + 4 + 2


def test_a_missing_database_is_404_and_leaves_the_connection_reusable(make_client, front, db, caplog):
    caplog.set_level(logging.INFO, logger='couchgate.request')
    client = make_client(db, 'nosuchdb')
    assert_problem(client.simulate_get('/v1/nosuchdb/export'), 404, 'not-found')
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
    assert front.accepted_connections == 1


def test_a_head_of_the_export_fetches_one_batch_and_leaves_the_connection_reusable(
    make_client, front, db, caplog
):
    capture_request_lines(caplog)
    client = make_client(EXPORT_BATCH_SIZE='10')
    head = client.simulate_head(f'/v1/{db}/export')
    assert head.status_code == 200 and head.content == b''
    assert head.headers['content-type'] == 'application/x-ndjson'
    [line] = export_lines(caplog)
    # The worker's one GET / (which order the server sorts ids in), then one batch: closed after it.
    assert (line['complete'], line['upstream_requests']) == (False, 2)
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
    assert front.accepted_connections == 1 and front.request_count == 3


def test_a_gzipped_export_holds_the_same_lines(make_client, db):
    client = make_client(EXPORT_BATCH_SIZE='10')
    plain = client.simulate_get(f'/v1/{db}/export')
    packed = client.simulate_get(f'/v1/{db}/export', headers={'Accept-Encoding': 'gzip'})
    assert (
        packed.headers['content-encoding'] == 'gzip' and 'accept-encoding' in packed.headers['vary'].lower()
    )
    assert gzip.decompress(packed.content) == plain.content and len(packed.content) < len(plain.content)
