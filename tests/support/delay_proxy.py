"""A plain TCP proxy that delays what clients send until released: a slow upstream on demand."""

from __future__ import annotations

import asyncio
import threading


class DelayProxy:
    """Forwards bytes both ways; while held, bytes from clients wait in the proxy (requests stall)."""

    def __init__(self, upstream: tuple[str, int], host: str = '127.0.0.1') -> None:
        self.upstream = upstream
        self.host = host
        self.port = 0  # the port it listens on, once entered
        self._loop = asyncio.new_event_loop()
        # Set while bytes may pass; it binds to the proxy's loop when that loop first waits on it.
        self._open = asyncio.Event()
        self._open.set()

    def __enter__(self) -> DelayProxy:
        self._thread = threading.Thread(target=self._loop.run_forever, name='delay-proxy', daemon=True)
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
        self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def hold(self) -> None:
        self._loop.call_soon_threadsafe(self._open.clear)

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._open.set)

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self):
        return await asyncio.start_server(self._serve, self.host, 0)

    async def _serve(self, client_reader, client_writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, up_writer, held=True), self._pipe(up_reader, client_writer, held=False)
        )

    async def _pipe(self, reader, writer, held: bool) -> None:
        try:
            while data := await reader.read(64 * 1024):
                if held:
                    await self._open.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()  # a close on one side ends the other: keep-alive closes pass through
