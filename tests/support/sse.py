"""A Server-Sent Events client for the tests: events parsed as they arrive, by a thread of its own."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Event:
    """One SSE event: its name, id and data (parsed JSON when it is JSON), or a comment line."""

    name: str
    id: str | None
    data: Any  # parsed JSON, or the text
    comment: str | None = None


@dataclass
class EventStream:
    """`GET url` with `Accept: text/event-stream`; events (and comments) queued in order."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    response: Any = None  # the requests.Response, once entered
    ended: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._events: queue.Queue[Event] = queue.Queue()
        self._session = requests.Session()
        self._sock: socket.socket | None = None

    def __enter__(self) -> EventStream:
        self.response = self._session.get(
            self.url, headers={'Accept': 'text/event-stream', **self.headers}, stream=True, timeout=(10, 60)
        )
        self._sock = getattr(getattr(self.response.raw, 'connection', None), 'sock', None)
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.response is not None:
            # The reader thread is blocked in a read that holds the response's buffer: end the
            # connection under it, or close() would wait for the next heartbeat.
            sock = self._sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.response.close()
        self._session.close()

    def _read(self) -> None:
        assert self.response is not None
        name, event_id = 'message', None
        data: list[str] = []
        try:
            for raw in self.response.iter_lines(chunk_size=1, decode_unicode=False):
                line = raw.decode()
                if line.startswith(':'):
                    self._events.put(Event('comment', None, None, comment=line[1:].strip()))
                elif line == '':
                    if data:
                        text = '\n'.join(data)
                        try:
                            parsed: object = json.loads(text)
                        except ValueError:
                            parsed = text
                        self._events.put(Event(name, event_id, parsed))
                    name, event_id, data = 'message', None, []
                else:
                    key, _, value = line.partition(':')
                    value = value[1:] if value.startswith(' ') else value
                    if key == 'event':
                        name = value
                    elif key == 'id':
                        event_id = value
                    elif key == 'data':
                        data.append(value)
        except (requests.RequestException, OSError, AttributeError):
            pass
        finally:
            self.ended.set()

    def next(self, timeout: float = 10.0, *, comments: bool = False) -> Event:
        """The next event (heartbeats and other comments skipped unless `comments`)."""
        while True:
            event = self._events.get(timeout=timeout)
            if comments or event.name != 'comment':
                return event

    def changes(self, count: int, timeout: float = 10.0) -> list[Event]:
        """The next `count` change events."""
        found: list[Event] = []
        while len(found) < count:
            event = self.next(timeout)
            assert event.name == 'change', event
            found.append(event)
        return found
