"""HTTP/1.1 as the TLS front relays it: a client connection, the requests read from it and the responses
streamed back to it, bodies copied by their framing (so the bytes pass through unchanged)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

HEAD_END = b'\r\n\r\n'
PIECE = 64 * 1024


@dataclass(frozen=True)
class RequestRecord:
    """One request as the front received it."""

    method: str
    path: str  # the request-target exactly as sent: undecoded, query string included
    connection: int  # serial number of the client connection; unique, never reset
    body: bytes = b''  # as sent (its framing included, if chunked): what a key range or selector was


@dataclass
class Request:
    """One request read from a client, to be replayed upstream."""

    method: str
    target: str
    raw: bytes  # head and body exactly as received, replayed upstream as is
    wants_close: bool


class UpstreamUnavailable(Exception):
    """No upstream connection could take the request."""


@dataclass(eq=False)
class Client:
    """One client connection to the front, and the upstream connection that serves it."""

    number: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    task: asyncio.Task
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    busy: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def read_request(self) -> Request | None:
        """The next request, body included; None if the client closed between requests."""
        first = await self.reader.read(1)
        if not first:
            return None
        self.busy = True  # from its first byte on, a request is never cut by close_idle_connections()
        head = first + await self.reader.readuntil(HEAD_END)
        request_line, fields = parse_head(head)
        method, target, version = request_line.split(' ', 2)
        parts = [head]

        async def keep(data):
            parts.append(data)

        # Buffered (unlike responses) so it can be replayed on a fresh upstream connection.
        await copy_body(self.reader, fields, keep)
        tokens = fields.get('connection', '')
        wants_close = 'close' in tokens or (version == 'HTTP/1.0' and 'keep-alive' not in tokens)
        return Request(method, target, b''.join(parts), wants_close)

    async def relay_response(self, request: Request, up_reader: asyncio.StreamReader, head: bytes) -> bool:
        """Stream the response whose head came from upstream to the client; True if the upstream closes."""
        status_line, fields = parse_head(head)
        while 100 <= (status := int(status_line.split(' ', 2)[1])) < 200 and status != 101:
            self.writer.write(head)  # interim (100 Continue): forward, the real answer follows
            head = await up_reader.readuntil(HEAD_END)
            status_line, fields = parse_head(head)

        async def to_client(data):
            self.writer.write(data)
            await self.writer.drain()

        await to_client(head)
        upstream_closes = 'close' in fields.get('connection', '')
        has_body = request.method != 'HEAD' and status not in (204, 304)
        if has_body and not await copy_body(up_reader, fields, to_client):
            # Delimited by the upstream closing: only closing tells the client it ended.
            while data := await up_reader.read(PIECE):
                await to_client(data)
            upstream_closes = True
        return upstream_closes

    def drop_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream[1].close()
            self.upstream = None


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The start line, and the header fields with lower-cased names and values."""
    lines = head.decode('latin-1').split('\r\n')
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(':')
            fields[name.strip().lower()] = value.strip().lower()
    return lines[0], fields


async def copy_body(reader, fields, emit) -> bool:
    """Copy a framed body; False if the message has no framing headers."""
    if 'chunked' in fields.get('transfer-encoding', ''):
        await _copy_chunked(reader, emit)
    elif 'content-length' in fields:
        await _copy_exact(reader, int(fields['content-length']), emit)
    else:
        return False
    return True


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
