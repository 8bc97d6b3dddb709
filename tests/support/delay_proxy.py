"""A plain TCP proxy that delays what clients send until released, or trickles what the upstream
answers at a set rate: a slow upstream on demand."""

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
        self.rate: float | None = None  # bytes per second from the upstream; None: as fast as it comes
        self.trickled = 0  # bytes passed on at that rate since throttle()

    @property
    def url(self) -> str:
        return f'http://{self.host}:{self.port}'

    def throttle(self, bytes_per_second: float | None) -> None:
        """Pass the upstream's answers on at this rate (None: unthrottled)."""
        self.rate = bytes_per_second
        self.trickled = 0

    def __enter__(self) -> DelayProxy:
        self._thread = threading.Thread(target=self._loop.run_forever, name='delay-proxy', daemon=True)
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
        self._server.close()
        self._call(self._cancel_pipes())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def hold(self) -> None:
        self._loop.call_soon_threadsafe(self._open.clear)

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._open.set)

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _cancel_pipes(self) -> None:
        # Pipes still trickling or held would be destroyed pending when the loop stops.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
                if not held and self.rate:
                    await self._trickle(data, writer)
                    continue
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()  # a close on one side ends the other: keep-alive closes pass through

    async def _trickle(self, data: bytes, writer) -> None:
        step = 1024
        for at in range(0, len(data), step):
            writer.write(data[at : at + step])
            self.trickled += len(data[at : at + step])
            await writer.drain()
            await asyncio.sleep(step / (self.rate or 1))  # the pace of a slow link, not a wait for an event
