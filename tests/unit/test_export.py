"""GET /v1/{db}/export through the real app with a fake Couch port: NDJSON, batches, closing."""

import json
import logging

import pytest
from falcon import testing

from api.config import ConfigError, Settings
from api.errors import Problem
from tests.support.api_keys import KEY_HEADER
from tests.support.fakes import FakeCouch
from tests.support.problems import assert_problem
from tests.support.request_log import export_lines

pytestmark = pytest.mark.app_env(CLOUDANT_DATABASES='foundbite,empty,missing', EXPORT_BATCH_SIZE='10')


@pytest.fixture
def couch():
    """23 documents (three batches of at most 10), an empty database; `missing` is allowed but absent."""
    fake = FakeCouch('foundbite', 'empty')
    fake.dbs['foundbite'].update(
        {f'd{i:02d}': {'_id': f'd{i:02d}', '_rev': '1-fake', 'n': i} for i in range(23)}
    )
    return fake


def start_export(app, path):
    """Call the app as a WSGI server does, with the test key (the export needs the `export` scope);
    returns the status and the body iterable, unread."""
    started = []
    environ = testing.create_environ(path=path, headers=KEY_HEADER)
    body = app(environ, lambda status, headers: started.append(status))
    return started[0], body


def test_export_streams_every_document_as_one_json_line_in_key_order(client, couch):
    result = client.simulate_get('/v1/foundbite/export')
    assert result.status_code == 200
    assert result.headers['content-type'] == 'application/x-ndjson'
    assert result.text.endswith('\n')
    docs = [json.loads(line) for line in result.text.splitlines()]
    assert docs == [couch.dbs['foundbite'][f'd{i:02d}'] for i in range(23)]
    assert couch.calls.count(('documents', 'foundbite')) == 3  # 10 + 10 + 3


def test_export_honours_start_and_end_key(client):
    result = client.simulate_get('/v1/foundbite/export', params={'start_key': 'd05', 'end_key': 'd07'})
    assert [json.loads(line)['_id'] for line in result.text.splitlines()] == ['d05', 'd06', 'd07']


def test_an_empty_database_exports_an_empty_body(client):
    result = client.simulate_get('/v1/empty/export')
    assert result.status_code == 200 and result.text == ''


def test_a_missing_database_is_a_404_problem_before_any_body(client):
    assert_problem(client.simulate_get('/v1/missing/export'), 404, 'not-found')


def test_a_database_off_the_allowlist_is_refused_without_an_upstream_call(client, couch):
    assert client.simulate_get('/v1/_users/export').status_code == 404
    assert couch.calls == []


def test_the_stream_logs_the_whole_export_when_it_ends(client, caplog):
    caplog.set_level(logging.INFO, logger='couchgate.request')
    result = client.simulate_get('/v1/foundbite/export', headers={'X-Request-ID': 'exp-1'})
    [line] = export_lines(caplog)
    assert line['request_id'] == 'exp-1' and line['path'] == '/v1/foundbite/export'
    assert (line['complete'], line['documents'], line['bytes']) == (True, 23, len(result.content))


def test_closing_the_stream_half_way_closes_the_upstream_paging(client, couch, caplog):
    # What a WSGI server does when the client goes away: stop iterating, call close().
    caplog.set_level(logging.INFO, logger='couchgate.request')
    status, body = start_export(client.app, '/v1/foundbite/export')
    assert status == '200 OK'
    assert next(iter(body)).count(b'\n') == 10
    body.close()
    assert couch.closed
    [line] = export_lines(caplog)
    assert (line['complete'], line['documents']) == (False, 10)
    assert couch.calls.count(('documents', 'foundbite')) == 1


def test_an_upstream_failure_mid_stream_cuts_the_body_and_is_logged(client, couch, caplog):
    caplog.set_level(logging.INFO, logger='couchgate.request')
    _, body = start_export(client.app, '/v1/foundbite/export')
    chunks = iter(body)
    next(chunks)
    couch.unavailable = True
    # The status line went out already: the server must cut the body (no clean end of stream).
    with pytest.raises(Problem) as raised:
        next(chunks)
    assert raised.value.status_code == 503
    body.close()
    [record] = [r for r in caplog.records if r.msg == 'export']
    assert record.levelno == logging.WARNING
    assert record.fields['complete'] is False and 'cannot be reached' in record.fields['error']


def test_export_batch_size_is_bounded():
    assert Settings.from_env({}).export_batch_size == 1000
    assert Settings.from_env({'EXPORT_BATCH_SIZE': '50'}).export_batch_size == 50
    for bad in ('0', '10001', 'lots'):
        with pytest.raises(ConfigError, match='EXPORT_BATCH_SIZE'):
            Settings.from_env({'EXPORT_BATCH_SIZE': bad})
