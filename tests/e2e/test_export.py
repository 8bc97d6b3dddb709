"""A client that leaves mid-export, against real gunicorn: the upstream connection goes back to the pool."""

import socket
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api_keys import TEST_KEY, TEST_KEYS
from tests.support.gunicorn_process import WebProcess
from tests.support.web import web_env

DOC_BYTES = 4000


def _send_buffer_max() -> int:
    """The most a TCP socket here may buffer for sending (Linux autotuning's cap)."""
    try:
        return int(Path('/proc/sys/net/ipv4/tcp_wmem').read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


@pytest.fixture
def big_db(make_db, couch_admin):
    """More NDJSON than the kernel can buffer between the server and a client that stops reading,
    so the export cannot finish before the client leaves: no race, whatever the timing."""
    count = (2 * _send_buffer_max()) // DOC_BYTES + 200
    name = make_db()
    for start in range(0, count, 500):
        numbers = range(start, min(start + 500, count))
        docs = [{'_id': f'doc-{i:06d}', 'pad': 'x' * DOC_BYTES} for i in numbers]
        assert couch_admin.post(f'{name}/_bulk_docs', json={'docs': docs}, timeout=60).status_code == 201
    return name, count


def in_use_by_worker(web) -> dict[str, float]:
    text = requests.get(web.url + '/metrics', timeout=10).text
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == 'couchgate_pool_connections_in_use'
    ]
    return {s.labels['pid']: s.value for s in family.samples}


def test_a_client_leaving_mid_export_gives_the_connection_back_to_the_pool(front, ca_bundle, big_db):
    db, count = big_db
    # One worker, one thread, a pool of one: a connection left checked out would force a second one.
    env = web_env(
        front,
        ca_bundle,
        db,
        WEB_CONCURRENCY='1',
        GUNICORN_THREADS='1',
        EXPORT_BATCH_SIZE='100',
        API_KEYS=TEST_KEYS,
    )
    with WebProcess(**env) as web:
        web.wait_ready('/healthz')  # not /readyz: that would open the upstream connection counted below
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
            client.connect(('127.0.0.1', web.port))
            # The export needs a key with the `export` scope.
            request = (
                f'GET /v1/{db}/export HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TEST_KEY}\r\n\r\n'
            )
            client.sendall(request.encode())
            received = b''
            while b'"_id"' not in received:  # the headers and the first document
                data = client.recv(4096)
                assert data, 'the server closed before the first document'
                received += data
            assert received.startswith(b'HTTP/1.1 200 ')
        # Closed with unread data: the kernel sends RST, the server's next write fails.
        line = web.wait_for(lambda: web.lines('couchgate.request', 'export'), what='the export line')[0]
        assert line['complete'] is False and 0 < line['documents'] < count
        export_connections = {r.connection for r in front.requests}
        assert front.accepted_connections == 1

        assert requests.get(f'{web.url}/v1/{db}/docs', timeout=10).status_code == 200
        assert front.accepted_connections == 1
        assert front.requests[-1].connection in export_connections
        assert list(in_use_by_worker(web).values()) == [0.0]
