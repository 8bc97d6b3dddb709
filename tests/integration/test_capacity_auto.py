"""CLOUDANT_CAPACITY=auto: read from Cloudant's capacity API at start-up, or a warning and no guard."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.bootstrap import resolve_capacity
from api.config import Settings

THROUGHPUT = {
    'current': {'throughput': {'blocks': 2, 'query': 10, 'read': 200, 'write': 100}},
    'target': {'throughput': {'blocks': 3, 'query': 15, 'read': 300, 'write': 150}},
}


@pytest.fixture
def capacity_api():
    """A server with Cloudant's capacity endpoint only (pouchdb-server has none)."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            body = (
                json.dumps(THROUGHPUT).encode() if self.path == '/_api/v2/user/capacity/throughput' else b'{}'
            )
            self.send_response(200 if body != b'{}' else 404)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.asked = asked  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def test_auto_reads_the_current_capacity(capacity_api):
    url = f'http://127.0.0.1:{capacity_api.server_address[1]}'
    settings = Settings.from_env({'CLOUDANT_URL': url, 'CLOUDANT_CAPACITY': 'auto'})
    assert resolve_capacity(settings) == 'reads=200,writes=100,queries=10'
    assert capacity_api.asked == ['/_api/v2/user/capacity/throughput']


def test_auto_without_a_capacity_api_warns_and_leaves_the_guard_off(pouch, caplog):
    settings = Settings.from_env({'CLOUDANT_URL': pouch.url, 'CLOUDANT_CAPACITY': 'auto'})
    with caplog.at_level(logging.WARNING, 'couchgate.capacity'):
        assert resolve_capacity(settings) == ''
    (line,) = [r.getMessage() for r in caplog.records if r.name == 'couchgate.capacity']
    assert line.startswith('CLOUDANT_CAPACITY=auto: the capacity API answered ')
    assert Settings.from_env({'CLOUDANT_CAPACITY': ''}).capacity is None


def test_a_set_capacity_passes_through():
    settings = Settings.from_env({'CLOUDANT_CAPACITY': 'reads=20,writes=10,queries=5'})
    assert resolve_capacity(settings) == 'reads=20,writes=10,queries=5'
