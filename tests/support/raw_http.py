"""Hand-written HTTP/1.1 exchanges with a real server: what a well-behaved client library cannot send."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import socket
import threading

TIMEOUT = 20.0  # generous: an answer that waited for bytes never sent would exceed it


@dataclasses.dataclass
class Answer:
    """A raw exchange's answer, read whole, with what assert_problem reads of a response."""

    status_code: int
    headers: http.client.HTTPMessage
    content: bytes
    version: int  # http.client's: 10 or 11

    @property
    def text(self) -> str:
        return self.content.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.content)


def read_answer(sock: socket.socket) -> Answer:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return Answer(response.status, response.headers, response.read(), response.version)


def exchange(port: int, request: bytes, *, half_close: bool = False, timeout: float = TIMEOUT) -> Answer:
    """Send `request` as is (from a thread: the answer may come before it is all sent), read the answer.

    half_close: shut our sending side after the request, as a client whose body was cut short does.
    """
    sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)

    def send():
        # OSError: the server answered and closed before taking it all, which is the point.
        with contextlib.suppress(OSError):
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        return read_answer(sock)
    finally:
        sender.join(timeout)
        sock.close()


def closed_by_server(sock: socket.socket) -> bytes | None:
    """Read until the server closes: everything it sent, or None if it kept the connection open
    for the socket's timeout."""
    received = b''
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received
