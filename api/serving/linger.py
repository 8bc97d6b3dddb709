"""Closing connections without blocking gunicorn's worker loop.

gthread closes a finished connection with gunicorn's close_graceful, which waits on the worker's
loop, up to 2 s, for the client's EOF: a client that never closes stalls every other connection
of the worker meanwhile. Here the FIN goes out at once and the poller waits for the EOF instead.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections.abc import Callable
from functools import partial

LINGER = 2.0  # seconds a closing connection has to read its answer, as close_graceful gives it
DRAIN = 64 * 1024  # bytes read and dropped meanwhile, as close_graceful
READ_SIZE = 64 * 1024


class Lingering:
    """Connections whose answer is sent: FIN sent, closed at the client's EOF or after LINGER."""

    def __init__(self, close: Callable[[object], None]) -> None:
        self._close = close  # the worker's: closes the connection and counts it gone
        self._deadlines: dict = {}  # TConn -> [deadline, bytes drained], in deadline order

    def start(self, poller: selectors.BaseSelector, conn) -> None:
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        self._deadlines[conn] = [time.monotonic() + LINGER, 0]
        poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, poller, conn))

    def expire(self, poller: selectors.BaseSelector, now: float) -> None:
        """Close the connections whose LINGER is over."""
        due = []
        for conn, (deadline, _) in self._deadlines.items():
            if deadline > now:
                break
            due.append(conn)
        for conn in due:
            self._end(poller, conn)

    def _on_bytes(self, poller: selectors.BaseSelector, conn, _sock) -> None:
        data = received(conn.sock)
        if data is None:
            return
        if conn in self._deadlines:
            self._deadlines[conn][1] += len(data)
            if not data or self._deadlines[conn][1] >= DRAIN:
                self._end(poller, conn)

    def _end(self, poller: selectors.BaseSelector, conn) -> None:
        del self._deadlines[conn]
        with contextlib.suppress(KeyError, ValueError, OSError):
            poller.unregister(conn.sock)
        self._close(conn)


def received(sock: socket.socket) -> bytes | None:
    """What a non-blocking socket has for us: None if nothing yet, b'' if the peer left or it failed."""
    try:
        return sock.recv(READ_SIZE)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b''
