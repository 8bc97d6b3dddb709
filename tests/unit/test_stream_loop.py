"""The worker's stream loop over a real socket pair: a reader that stalls, then reads, gets every byte
its stream had queued and then the end, however the socket's buffer and the loop's turns interleave."""

from __future__ import annotations

import socket

from api.changes.subscription import Subscription
from api.serving.streams import StreamLoop
from api.upstream.couch import Change

DOC = b'{"x":"' + b'y' * 100_000 + b'"}'


def test_a_stalled_reader_gets_what_was_queued_then_a_reset_and_the_end():
    ours, theirs = socket.socketpair()
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few events
    closed: list[Subscription] = []
    sub = Subscription('db', None, True, '0', reader=None, on_close=closed.append, heartbeat=20.0)
    sub.caught_up('0')
    loop = StreamLoop()
    loop.adopt(ours, sub, chunked=False)
    for n in range(1, 81):
        sub.offer([Change(str(n), f'd{n}', '1-x', False, DOC)])
    theirs.settimeout(10)  # a liveness bound
    received = bytearray()
    while chunk := theirs.recv(1 << 20):
        received += chunk
    text = received.decode()
    reset = '{"last_seq":"' + sub.position + '","reason":"slow-reader"}'
    assert text.endswith(f'event: reset\ndata: {reset}\n\n')
    assert text.count('event: change') == int(sub.position) < 80
    assert closed == [sub] and loop.open_streams() == 0
    loop.stop()
    loop.join(5)
