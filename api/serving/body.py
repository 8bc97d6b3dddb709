"""A request body whose every read waits at most a deadline for the client's next bytes.

gunicorn reads a body from a blocking socket with no timeout: a client that stops sending half-way
(or announces a chunk of 20 hex digits and sends 16 bytes) holds the worker thread for as long as it
keeps the connection open. Only reads get the timeout: the answer, an export's stream, is written
with none, since a client may take its time reading it.
"""

from __future__ import annotations

import socket


class DeadlinedBody:
    """gunicorn's request Body, each read raising TimeoutError after `timeout` s without a byte."""

    def __init__(self, body, sock: socket.socket, timeout: float) -> None:
        self._body = body
        self._sock = sock
        self._timeout = timeout

    @property
    def failed(self) -> bool:  # gunicorn's parser closes the connection after a failed body
        return bool(getattr(self._body, 'failed', False))

    def _bounded(self, method, *args):
        prior = self._sock.gettimeout()
        self._sock.settimeout(self._timeout if prior is None else min(prior, self._timeout))
        try:
            return method(*args)
        finally:
            self._sock.settimeout(prior)

    def read(self, size=None) -> bytes:
        return self._bounded(self._body.read, size)

    def readline(self, size=None) -> bytes:
        return self._bounded(self._body.readline, size)

    def readlines(self, size=None) -> list[bytes]:
        return self._bounded(self._body.readlines, size)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line
