"""A TCP proxy that adds a round-trip time, as a network between an app and Cloudant would.

Each byte is delivered half the RTT after it arrived, in order, without slowing the stream
down (a delay line, not stop-and-wait). A new connection's first bytes wait one RTT more:
the SYN/SYN-ACK exchange a real connect() costs, which a loopback connect() does not. So a
request on a kept-alive connection costs 1 RTT, a new TLS 1.3 connection 2 RTT more.
"""

from __future__ import annotations

import asyncio

CHUNK = 64 * 1024


class LatencyProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to `target` with `rtt` seconds added."""

    def __init__(self, target: tuple[str, int], rtt: float) -> None:
        self.target = target
        self.rtt = rtt
        self.port: int | None = None
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, '127.0.0.1', 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, client_reader, client_writer) -> None:
        loop = asyncio.get_running_loop()
        connected_at = loop.time() + self.rtt  # when a real handshake would have completed
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(
                self._delay_line(client_reader, up_writer, not_before=connected_at),
                self._delay_line(up_reader, client_writer, not_before=0.0),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass  # one side went away: close both
        finally:
            for writer in (client_writer, up_writer):
                writer.close()

    async def _delay_line(self, reader, writer, *, not_before: float) -> None:
        loop = asyncio.get_running_loop()
        half = self.rtt / 2
        queue: asyncio.Queue = asyncio.Queue()

        async def receive() -> None:
            try:
                while data := await reader.read(CHUNK):
                    queue.put_nowait((max(loop.time(), not_before) + half, data))
            except OSError:
                pass  # a reset reads as the end, also for the delivery side
            finally:
                queue.put_nowait((max(loop.time(), not_before) + half, b''))

        receiver = asyncio.ensure_future(receive())
        try:
            while True:
                due, data = await queue.get()
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                if not data:  # the sender half-closed: pass it on, after the same delay
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        finally:
            receiver.cancel()
