"""A fault-injecting TLS proxy: the counting TLS front, with upstream faults on command."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass
from types import EllipsisType

from tests.support.http_relay import UpstreamUnavailable
from tests.support.tls_front import TLSFront

REASONS = {429: 'Too Many Requests', 503: 'Service Unavailable'}


@dataclass(frozen=True)
class Answer:
    """One request's answer as the proxy got it: from the server, or canned; None if nothing answered."""

    method: str
    path: str  # without the query string
    status: int | None  # a reset after forwarding still records the server's status


@dataclass
class PendingReset:
    """A reset to come: after the head or before it, for which method (None: any), after how many pass."""

    after_head: bool
    method: str | None
    skip: int


class Hold:
    """Matching requests wait here, unanswered and not forwarded, until release()."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)


class FaultProxy(TLSFront):
    """Sits between couchgate and the server over TLS, counts what passes, and misbehaves on command.

    Commands are called from the test thread and apply to requests arriving afterwards;
    heal() ends them all. Counting is the TLS front's (connections, requests) plus `answers`.
    """

    def __init__(self, upstream: tuple[str, int], ssl_context, host: str = '127.0.0.1') -> None:
        super().__init__(upstream, ssl_context, host)
        self.answers: list[Answer] = []
        self._holds: dict[tuple[str, str], Hold] = {}
        self.heal()

    def heal(self) -> None:
        """No latency, blackhole, holds, pending resets or canned answers (refusal: see accept())."""
        for hold in self._holds.values():
            hold.release()
        self._holds.clear()
        with self._lock:
            self._latency = 0.0
            self._blackhole = False
            self._resets: list[PendingReset] = []
            self._canned: list[bytes] = []  # answers for the next requests, not forwarded

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.answers.clear()

    def add_latency(self, seconds: float) -> None:
        """Each request waits this long before it is forwarded."""
        self._latency = seconds

    def blackhole(self) -> None:
        """Accept and read requests, never answer them."""
        self._blackhole = True

    def reset_next(
        self, count: int = 1, *, after_head: bool = True, method: str | None = None, skip: int = 0
    ) -> None:
        """Forward the next `count` requests (of `method` only, if given; after `skip` such requests
        passed untouched), then reset the connection (RST) before or after the head."""
        with self._lock:
            self._resets.extend(PendingReset(after_head, method, skip) for _ in range(count))

    def answer_next(self, count: int, status: int, retry_after: str | int) -> None:
        """Answer the next `count` requests with `status` and Retry-After, without forwarding them."""
        body = json.dumps(
            {
                'error': 'too_many_requests' if status == 429 else 'unavailable',
                'reason': 'injected by the fault proxy',
            }
        ).encode()
        head = (
            f'HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: application/json\r\n'
            f'Content-Length: {len(body)}\r\nRetry-After: {retry_after}\r\n\r\n'
        ).encode()
        with self._lock:
            self._canned.extend([head + body] * count)

    def hold(self, method: str, path: str) -> Hold:
        """Keep matching requests waiting until the returned Hold is released."""
        hold = self._holds[(method, path)] = Hold(self._running_loop())
        return hold

    def refuse(self) -> None:
        """Stop listening (new connections are refused) and close the open ones."""
        self._call(self._stop_listening())
        self.close_all_connections()

    def accept(self) -> None:
        """Listen again, on the same port (nothing to do if listening)."""
        if not self._server.is_serving():
            self._server = self._call(self._listen())

    def count(self, method: str, path: str, status: int | EllipsisType | None = ...) -> int:
        """How many answers requests to (method, path) got; only those with `status`, if given."""
        with self._lock:
            return sum(
                1
                for a in self.answers
                if (a.method, a.path) == (method, path) and (status is ... or a.status == status)
            )

    async def _stop_listening(self) -> None:
        self._server.close()

    async def _listen(self):
        return await asyncio.start_server(
            self._serve,
            self.host,
            self.port or 0,
            ssl=self._ssl_context,
            ssl_handshake_timeout=10,
            ssl_shutdown_timeout=5,
        )

    def _take(self, pending: list):
        with self._lock:
            return pending.pop(0) if pending else None

    def _take_reset(self, method: str) -> bool | None:
        with self._lock:
            for at, pending in enumerate(self._resets):
                if pending.method in (None, method):
                    if pending.skip:
                        pending.skip -= 1  # this one passes
                        return None
                    del self._resets[at]
                    return pending.after_head
        return None

    def _answered(self, request, status: int | None) -> None:
        with self._lock:
            self.answers.append(Answer(request.method, request.target.split('?')[0], status))

    async def _exchange(self, client, request) -> bool:
        hold = self._holds.get((request.method, request.target.split('?')[0]))
        if hold is not None:
            await hold.wait()
        if self._latency:
            await asyncio.sleep(self._latency)
        if self._blackhole:
            self._answered(request, None)
            await client.reader.read()  # until the client gives up and closes
            return False
        if (canned := self._take(self._canned)) is not None:
            self._answered(request, int(canned.split(b' ', 2)[1]))  # before the client can see it
            client.writer.write(canned)
            await client.writer.drain()
            return True
        try:
            if (after_head := self._take_reset(request.method)) is not None:
                _, head = await self._send_upstream(client, request)  # the server has it now
                if after_head:
                    client.writer.write(head)
                    await client.writer.drain()
                _abort_with_reset(client.writer)
                return False
            return await super()._exchange(client, request)
        except UpstreamUnavailable:
            # A TCP proxy whose upstream is gone: the client's connection just dies, no 502 page.
            self._answered(request, None)
            _abort_with_reset(client.writer)
            return False

    async def _send_upstream(self, client, request):
        reader, head = await super()._send_upstream(client, request)
        self._answered(request, int(head.split(b' ', 2)[1]))
        return reader, head


def _abort_with_reset(writer: asyncio.StreamWriter) -> None:
    # Linger 0: close() sends RST instead of FIN, as a crashed or reset peer does.
    sock = writer.get_extra_info('socket')
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    writer.transport.abort()
