"""One line per request, from the app and from gunicorn's access log, joined by the request id."""

import json
import os
import types
from datetime import timedelta

from gunicorn.config import Config

from api.observability.access_log import JsonAccessLogger
from tests.support.request_log import capture_request_lines, request_lines


def test_request_id_is_echoed_when_well_formed_else_generated(client):
    assert (
        client.simulate_get('/healthz', headers={'X-Request-ID': 'abc.DEF_1-2'}).headers['x-request-id']
        == 'abc.DEF_1-2'
    )
    for bad in ['a b', 'x' * 129, 'id\u00e9', '']:
        generated = client.simulate_get('/healthz', headers={'X-Request-ID': bad}).headers['x-request-id']
        assert generated != bad and len(generated) == 32


def test_every_response_has_server_timing_and_a_log_line(client, caplog):
    capture_request_lines(caplog)
    result = client.simulate_get('/v1/foundbite/docs/d01?secret=1')
    assert result.headers['server-timing'].startswith('cloudant;dur=')
    assert 'desc="requests=0 new=0 reused=0 discarded=0"' in result.headers['server-timing']
    [line] = request_lines(caplog)
    assert line['path'] == '/v1/foundbite/docs/d01'
    assert line['status'] == 200
    assert line['request_id'] == result.headers['x-request-id']
    assert set(line) >= {
        'method',
        'duration_ms',
        'upstream_requests',
        'new_connections',
        'reused_connections',
        'discarded_connections',
        'upstream_ms',
    }


def test_the_access_line_is_json_with_the_apps_request_id_whatever_the_path(capsys):
    cfg = Config()
    cfg.set('accesslog', '-')
    logger = JsonAccessLogger(cfg)
    resp = types.SimpleNamespace(
        status='404 Not Found',
        sent=57,
        headers=[('Content-Type', 'application/json'), ('X-Request-ID', 'abc-1')],
    )
    req = types.SimpleNamespace(headers=[('USER-AGENT', 'curl "quoted" \\ back')])
    environ = {
        'REQUEST_METHOD': 'GET',
        'PATH_INFO': '/v1/a"b\\c/docs',
        'RAW_URI': '/v1/a%22b%5Cc/docs',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'QUERY_STRING': '',
        'REMOTE_ADDR': '10.0.0.1',
    }
    logger.access(resp, req, environ, timedelta(milliseconds=12, microseconds=340))
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line['logger'] == 'gunicorn.access'
    assert (line['request_id'], line['method'], line['path'], line['status'], line['bytes']) == (
        'abc-1',
        'GET',
        '/v1/a"b\\c/docs',
        404,
        57,
    )
    assert (line['duration_ms'], line['pid'], line['forwarded_for']) == (12.3, os.getpid(), '10.0.0.1')
