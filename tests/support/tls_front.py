"""A TLS-terminating HTTP/1.1 front for the local server that counts what it serves."""

from __future__ import annotations

import asyncio
import ssl
import threading

from tests.support.http_relay import HEAD_END, Client, Request, RequestRecord, UpstreamUnavailable

BAD_GATEWAY = (
    b'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n'
    b'Connection: close\r\n\r\nupstream unavailable\n'
)


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
        self._clients: set[Client] = set()
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
        return asyncio.run_coroutine_threadsafe(coro, self._running_loop()).result(timeout)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError('the front is not started: use it as a context manager')
        return self._loop

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
        idle = [c.upstream for c in self._clients if c.upstream and not c.upstream[0].at_eof() and not c.busy]
        for reader, writer in idle:
            writer.write_eof()  # Node ends its side on our FIN: the close then comes from upstream
            await asyncio.wait_for(reader.read(), 10)
        return len(idle)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Called by asyncio only once the TLS handshake has completed.
        task = asyncio.current_task()
        assert task is not None, 'asyncio runs each connection as a task'
        with self._lock:
            self._serial += 1
            self._accepted += 1
            client = Client(self._serial, reader, writer, task)
            self._clients.add(client)
        try:
            while (request := await client.read_request()) is not None:
                with self._lock:
                    body = request.raw.partition(HEAD_END)[2]
                    self._requests.append(RequestRecord(request.method, request.target, client.number, body))
                try:
                    keep_alive = await self._exchange(client, request)
                except UpstreamUnavailable:
                    writer.write(BAD_GATEWAY)
                    keep_alive = False
                if not keep_alive:
                    break
                client.busy = False
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError, asyncio.CancelledError):
            pass  # a side went away or we were told to close: end this connection only
        finally:
            client.drop_upstream()
            writer.close()
            with self._lock:
                self._clients.discard(client)
            client.done.set()

    async def _exchange(self, client: Client, request: Request) -> bool:
        """Forward one request, stream its response back; False if the client connection must close."""
        up_reader, head = await self._send_upstream(client, request)
        upstream_closes = await client.relay_response(request, up_reader, head)
        if upstream_closes:
            client.drop_upstream()
        return not (upstream_closes or request.wants_close)

    async def _send_upstream(self, client: Client, request: Request):
        """Send the request upstream; returns (upstream reader, response head)."""
        while True:
            reused = client.upstream is not None and not client.upstream[0].at_eof()
            try:
                reader, writer = await self._upstream_for(client)
                writer.write(request.raw)
                await writer.drain()
                return reader, await reader.readuntil(HEAD_END)
            except (OSError, EOFError) as exc:
                client.drop_upstream()
                if not reused:
                    raise UpstreamUnavailable() from exc
                # The upstream closed its idle connection just as the request went out:
                # send it once more, on a fresh connection (reused is False next time).

    async def _upstream_for(self, client: Client):
        if client.upstream is None or client.upstream[0].at_eof() or client.upstream[1].is_closing():
            client.drop_upstream()
            client.upstream = await asyncio.open_connection(*self.upstream)
            with self._lock:
                self._upstream_opened += 1
        return client.upstream
