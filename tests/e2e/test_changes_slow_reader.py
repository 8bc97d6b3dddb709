"""A reader that never reads (issue 24): its stream's unsent bytes stay bounded, and it ends with a
reset that says where to resume, while another stream on the same feed gets every change."""

from __future__ import annotations

import json
import socket

from tests.support.gunicorn_process import serving_database
from tests.support.poll import wait_for
from tests.support.sse import EventStream

KEY = 'slow-reader-key-0123456789abcdef'
DOCS, SIZE = 80, 100_000  # 8 MB of events: past the kernel's buffers and the stream's 1 MiB


def test_a_reader_that_never_reads_is_reset_and_the_others_get_everything(pouch, couch_admin):
    keys = json.dumps([{'name': 'all', 'key': KEY, 'scopes': ['read', 'write']}])
    with serving_database(pouch, couch_admin, 'slow', API_KEYS=keys) as web:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: it fills fast
        stalled.connect(('127.0.0.1', web.port))
        stalled.sendall(
            b'GET /v1/slow/changes?include_docs=true HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n'
            b'Authorization: Bearer ' + KEY.encode() + b'\r\n\r\n'
        )
        with EventStream(f'{web.url}/v1/slow/changes', {'Authorization': f'Bearer {KEY}'}) as reader:
            wait_for(
                lambda: b'event-stream' in stalled.recv(4096, socket.MSG_PEEK), 'the stalled stream started'
            )
            for n in range(DOCS):
                body = {'_id': f'big-{n:03d}', 'filler': 'x' * SIZE}
                assert couch_admin.put(f'slow/big-{n:03d}', json=body).status_code == 201
            events = reader.changes(DOCS, timeout=30)
            assert [e.data['id'] for e in events] == [f'big-{n:03d}' for n in range(DOCS)]
        stalled.settimeout(30)  # a liveness bound: the stream ends by itself once read
        received = bytearray()
        while chunk := stalled.recv(1 << 20):
            received += chunk
        stalled.close()
    text = received.decode()
    assert 'event: reset' in text, text[-300:]
    reset = text[text.rindex('event: reset') :].split('data: ', 1)[1].split('\n', 1)[0]
    assert json.loads(reset)['reason'] == 'slow-reader'
    delivered = text.count('event: change')
    assert 0 < delivered < DOCS
    assert (
        json.loads(reset)['last_seq'] == text.split('event: change')[-2].rsplit('id: ', 1)[1].split('\n')[0]
    )
