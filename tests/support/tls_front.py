"""A TLS-terminating HTTP/1.1 front for the local server that counts what it serves."""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field

HEAD_END = b'\r\n\r\n'
BAD_GATEWAY = (
    b'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n'
    b'Connection: close\r\n\r\nupstream unavailable\n'
)
PIECE = 64 * 1024


@dataclass(frozen=True)
class RequestRecord:
    """One request as the front received it."""

    method: str
    path: str  # the request-target exactly as sent: undecoded, query string included
    connection: int  # serial number of the client connection; unique, never reset


@dataclass
class _Request:
    method: str
    target: str
    raw: bytes  # head and body exactly as received, replayed upstream as is
    wants_close: bool


@dataclass(eq=False)
class _Client:
    number: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    task: asyncio.Task
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    busy: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


class _UpstreamUnavailable(Exception):
    pass


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode('latin-1').split('\r\n')
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(':')
            fields[name.strip().lower()] = value.strip().lower()
    return lines[0], fields


async def _copy_exact(reader, size, emit) -> None:
    while size:
        data = await reader.read(min(size, PIECE))
        if not data:
            raise asyncio.IncompleteReadError(b'', size)
        size -= len(data)
        await emit(data)


async def _copy_chunked(reader, emit) -> None:
    # Copies the framing too, so the bytes pass through unchanged.
    while True:
        size_line = await reader.readuntil(b'\r\n')
        await emit(size_line)
        size = int(size_line.split(b';')[0], 16)
        if size == 0:
            break
        await _copy_exact(reader, size + 2, emit)
    while (trailer := await reader.readuntil(b'\r\n')) != b'\r\n':
        await emit(trailer)
    await emit(trailer)


async def _copy_body(reader, fields, emit) -> bool:
    """Copy a framed body; False if the message has no framing headers."""
    if 'chunked' in fields.get('transfer-encoding', ''):
        await _copy_chunked(reader, emit)
    elif 'content-length' in fields:
        await _copy_exact(reader, int(fields['content-length']), emit)
    else:
        return False
    return True


class TLSFront:
    """Terminates TLS for tests and forwards HTTP/1.1 to a plain upstream, counting at the server side.

    Each client connection gets its own upstream connection, so what the client sees
    (connections, closes) is decided here, not by the upstream's keep-alive policy.
    Every request passes through _exchange(): the place for later fault injection.
    """

    def __init__(
        self, upstream: tuple[str, int], ssl_context: ssl.SSLContext, host: str = '127.0.0.1'
    ) -> None:
        self.upstream = upstream
        self.host = host
        self.port: int | None = None
        self._ssl_context = ssl_context
        self._lock = threading.Lock()  # counters are written in the loop thread, read in the test thread
        self._serial = 0
        self._accepted = 0
        self._upstream_opened = 0
        self._requests: list[RequestRecord] = []
        self._clients: set[_Client] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    url = property(lambda self: f'https://{self.host}:{self.port}')
    accepted_connections = property(lambda self: self._locked(lambda: self._accepted))
    upstream_connections_opened = property(lambda self: self._locked(lambda: self._upstream_opened))
    requests = property(lambda self: self._locked(lambda: list(self._requests)))
    request_count = property(lambda self: self._locked(lambda: len(self._requests)))
    open_connections = property(lambda self: self._locked(lambda: len(self._clients)))

    def _locked(self, read):
        with self._lock:
            return read()

    def __enter__(self) -> TLSFront:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name='tls-front', daemon=True)
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]

    async def _listen(self):
        # A short shutdown timeout: clients rarely answer close_notify, don't keep sockets 30 s.
        return await asyncio.start_server(
            self._serve, self.host, 0, ssl=self._ssl_context, ssl_handshake_timeout=10, ssl_shutdown_timeout=5
        )

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._close_clients(lambda client: True))
        self._server.close()
        self._call(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def reset(self) -> None:
        """Zero the counters and forget recorded requests; open connections stay open."""
        with self._lock:
            self._accepted = self._upstream_opened = 0
            self._requests.clear()

    def close_idle_connections(self, timeout: float = 10) -> int:
        """Close (close_notify + FIN) every client connection between requests; returns how many."""
        return self._call(self._close_clients(lambda client: not client.busy), timeout)

    def close_all_connections(self, timeout: float = 10) -> int:
        return self._call(self._close_clients(lambda client: True), timeout)

    def close_upstream_connections(self, timeout: float = 10) -> int:
        """Make the upstream close the front's idle upstream connections, as its keep-alive timeout would."""
        return self._call(self._close_upstreams(), timeout)

    def _call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _close_clients(self, chosen) -> int:
        clients = [client for client in self._clients if chosen(client)]
        for client in clients:
            client.writer.close()  # sends close_notify now
            # asyncio would then wait for the client's close_notify, which an idle pooled
            # client never sends: abort, so the FIN follows at once.
            client.writer.transport.abort()
            client.task.cancel()
        for client in clients:
            await client.done.wait()
        return len(clients)

    async def _close_upstreams(self) -> int:
        idle = [c for c in self._clients if c.upstream and not c.upstream[0].at_eof() and not c.busy]
        for client in idle:
            reader, writer = client.upstream
            writer.write_eof()  # Node ends its side on our FIN: the close then comes from upstream
            await asyncio.wait_for(reader.read(), 10)
        return len(idle)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Called by asyncio only once the TLS handshake has completed.
        with self._lock:
            self._serial += 1
            self._accepted += 1
            client = _Client(self._serial, reader, writer, asyncio.current_task())
            self._clients.add(client)
        try:
            while (request := await self._read_request(client)) is not None:
                with self._lock:
                    self._requests.append(RequestRecord(request.method, request.target, client.number))
                try:
                    keep_alive = await self._exchange(client, request)
                except _UpstreamUnavailable:
                    writer.write(BAD_GATEWAY)
                    keep_alive = False
                if not keep_alive:
                    break
                client.busy = False
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError, asyncio.CancelledError):
            pass  # a side went away or we were told to close: end this connection only
        finally:
            self._drop_upstream(client)
            writer.close()
            with self._lock:
                self._clients.discard(client)
            client.done.set()

    async def _read_request(self, client: _Client) -> _Request | None:
        first = await client.reader.read(1)
        if not first:
            return None
        client.busy = True  # from its first byte on, a request is never cut by close_idle_connections()
        head = first + await client.reader.readuntil(HEAD_END)
        request_line, fields = _parse_head(head)
        method, target, version = request_line.split(' ', 2)
        parts = [head]

        async def keep(data):
            parts.append(data)

        # Buffered (unlike responses) so it can be replayed on a fresh upstream connection.
        await _copy_body(client.reader, fields, keep)
        tokens = fields.get('connection', '')
        wants_close = 'close' in tokens or (version == 'HTTP/1.0' and 'keep-alive' not in tokens)
        return _Request(method, target, b''.join(parts), wants_close)

    async def _exchange(self, client: _Client, request: _Request) -> bool:
        """Forward one request, stream its response back; False if the client connection must close."""
        up_reader, head = await self._send_upstream(client, request)
        status_line, fields = _parse_head(head)
        while 100 <= (status := int(status_line.split(' ', 2)[1])) < 200 and status != 101:
            client.writer.write(head)  # interim (100 Continue): forward, the real answer follows
            head = await up_reader.readuntil(HEAD_END)
            status_line, fields = _parse_head(head)

        async def to_client(data):
            client.writer.write(data)
            await client.writer.drain()

        await to_client(head)
        upstream_closes = 'close' in fields.get('connection', '')
        if request.method != 'HEAD' and status not in (204, 304):
            if not await _copy_body(up_reader, fields, to_client):
                # Delimited by the upstream closing: only closing tells the client it ended.
                while data := await up_reader.read(PIECE):
                    await to_client(data)
                upstream_closes = True
        if upstream_closes:
            self._drop_upstream(client)
        return not (upstream_closes or request.wants_close)

    async def _send_upstream(self, client: _Client, request: _Request):
        """Send the request upstream; returns (upstream reader, response head)."""
        while True:
            reused = client.upstream is not None and not client.upstream[0].at_eof()
            try:
                reader, writer = await self._upstream_for(client)
                writer.write(request.raw)
                await writer.drain()
                return reader, await reader.readuntil(HEAD_END)
            except (OSError, EOFError) as exc:
                self._drop_upstream(client)
                if not reused:
                    raise _UpstreamUnavailable() from exc
                # The upstream closed its idle connection just as the request went out:
                # send it once more, on a fresh connection (reused is False next time).

    async def _upstream_for(self, client: _Client):
        if client.upstream is None or client.upstream[0].at_eof() or client.upstream[1].is_closing():
            self._drop_upstream(client)
            client.upstream = await asyncio.open_connection(*self.upstream)
            with self._lock:
                self._upstream_opened += 1
        return client.upstream

    @staticmethod
    def _drop_upstream(client: _Client) -> None:
        if client.upstream is not None:
            client.upstream[1].close()
            client.upstream = None
