"""Live answers (change streams, long polls) written by one thread per worker: none holds a request thread.

A request thread checks the client, catches it up and sends the head; then the worker hands the
socket here (api/serving/worker.py). This loop waits on every such socket at once, sends what the
feed gives each one (HTTP/1.1 chunks), a heartbeat where a stream has been quiet, ends long polls
at their deadline, and drops a client that left. At shutdown every answer gets its last bytes.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from api.serving.linger import received

log = logging.getLogger('couchgate.server')

SEND_AHEAD = 64 * 1024  # bytes taken from a body at a time: the rest stays counted against its limit
HEARTBEAT = b': heartbeat\n\n'
STOP_FLUSH = 1.0  # seconds the last bytes have to leave at shutdown


@runtime_checkable
class LiveBody(Protocol):
    """A body that keeps coming after its request ends (api/changes/subscription.py is one)."""

    heartbeat: float | None  # seconds of quiet before a heartbeat line; None: none
    deadline: float | None  # time.monotonic() by which it ends itself (a long poll), or None

    def catch_up(self) -> Iterator[bytes]: ...  # written in the request's thread, before the hand-off
    def take(self, most: int) -> tuple[bytes, bool]: ...
    def on_ready(self, wake) -> None: ...
    def expire(self) -> None: ...
    def shut_down(self) -> None: ...
    def close(self) -> None: ...


class _Stream:
    def __init__(self, sock: socket.socket, body: LiveBody, chunked: bool) -> None:
        self.sock, self.body, self.chunked = sock, body, chunked
        self.out = bytearray()
        self.last_write = time.monotonic()
        self.done = False  # the body has ended: close once `out` is sent
        self.mask = selectors.EVENT_READ  # what the selector waits for on this socket now


class StreamLoop:
    """The sockets of this worker's live answers, and the thread that writes them."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._lock = threading.Lock()
        self._adopted: list[_Stream] = []
        self._ready: set[_Stream] = set()
        self._streams: set[_Stream] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def adopt(self, sock: socket.socket, body: LiveBody, chunked: bool) -> None:
        """Take over a socket whose head is sent (from a request thread)."""
        stream = _Stream(sock, body, chunked)
        with self._lock:
            if self._thread is None:
                self._selector.register(self._wake_r, selectors.EVENT_READ, None)
                self._thread = threading.Thread(target=self._run, name='streams', daemon=True)
                self._thread.start()
            self._adopted.append(stream)
        self._wake()

    def stop(self) -> None:
        """End every answer with its last bytes (safe in a signal handler)."""
        self._stopping = True
        self._wake()

    def join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def open_streams(self) -> int:
        return len(self._streams)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b'\0')

    def _ready_to_send(self, stream: _Stream) -> None:
        with self._lock:
            self._ready.add(stream)
        self._wake()

    def _run(self) -> None:
        next_sweep = time.monotonic() + 1.0
        stopped_at: float | None = None
        while True:
            with self._lock:
                adopted, self._adopted = self._adopted, []
                ready, self._ready = self._ready, set()
            for stream in adopted:
                self._streams.add(stream)
                stream.sock.setblocking(False)
                self._selector.register(stream.sock, selectors.EVENT_READ, stream)
                stream.body.on_ready(lambda s=stream: self._ready_to_send(s))
            if self._stopping and stopped_at is None:
                stopped_at = time.monotonic()
                for stream in self._streams:
                    stream.body.shut_down()
                    ready.add(stream)
            for stream in ready:
                self._fill(stream)
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + 1.0
                self._sweep(now)
            if stopped_at is not None and (not self._streams or now - stopped_at > STOP_FLUSH):
                for stream in list(self._streams):
                    self._end(stream)
                return
            for key, events in self._selector.select(timeout=max(0.0, min(1.0, next_sweep - now))):
                if key.data is None:
                    with contextlib.suppress(BlockingIOError, OSError):
                        self._wake_r.recv(4096)
                    continue
                stream = key.data
                if events & selectors.EVENT_READ and received(stream.sock) == b'':
                    self._end(stream)  # the client left (bytes it sends are read and dropped)
                elif events & selectors.EVENT_WRITE:
                    self._fill(stream)

    def _sweep(self, now: float) -> None:
        """Heartbeats for quiet streams; long polls whose wait is over."""
        for stream in list(self._streams):
            body = stream.body
            if body.deadline is not None and now >= body.deadline:
                body.expire()
            elif body.heartbeat and not stream.out and now - stream.last_write >= body.heartbeat:
                stream.out += _framed(HEARTBEAT, stream.chunked)
                self._send(stream)

    def _fill(self, stream: _Stream) -> None:
        """Send what the body has, as far as the socket takes it; the rest when it is writable."""
        while stream in self._streams:
            took = None  # None: nothing asked of the body this turn (`out` was full)
            if not stream.done and len(stream.out) < SEND_AHEAD:
                took, ended = stream.body.take(SEND_AHEAD)
                if took:
                    stream.out += _framed(took, stream.chunked)
                if ended:
                    stream.done = True
                    if stream.chunked:
                        stream.out += b'0\r\n\r\n'
            self._send(stream)
            # Back when the socket is writable again; or when the body rings, if it had nothing.
            if stream.out or stream.done or took == b'':
                return

    def _send(self, stream: _Stream) -> None:
        try:
            while stream.out:
                sent = stream.sock.send(stream.out)
                del stream.out[:sent]
                stream.last_write = time.monotonic()
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._end(stream)
            return
        if stream.done and not stream.out:
            self._end(stream)
            return
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if stream.out else 0)
        if mask != stream.mask:  # epoll_ctl only on a change: most sends leave nothing behind
            self._selector.modify(stream.sock, mask, stream)
            stream.mask = mask

    def _end(self, stream: _Stream) -> None:
        if stream not in self._streams:
            return
        self._streams.discard(stream)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(stream.sock)
        stream.body.close()
        with contextlib.suppress(OSError):
            stream.sock.close()


def _framed(data: bytes, chunked: bool) -> bytes:
    return b'%x\r\n%s\r\n' % (len(data), data) if chunked else data
