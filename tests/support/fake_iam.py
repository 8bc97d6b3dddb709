"""A local stand-in for the IAM token endpoint: issues JWTs with lifetimes the test picks, counts requests."""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass

import jwt

HANG_LIMIT = 60.0  # a hung request is let go after this long even if nobody calls release()


@dataclass(frozen=True)
class TokenRequest:
    """One token request as the endpoint received it, and the token it got (None: none)."""

    at: float  # time.time() on arrival
    exp: int | None


class FakeIAM:
    """POST /identity/token answers a fresh unsigned-enough JWT; `lifetime(...)` shapes the next ones."""

    def __init__(self) -> None:
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._age, self._remaining = 0, 3600  # the next token: issued this long ago, valid this long
        self._refusal: int | None = None
        self._hanging = threading.Event()
        self._released = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # the name http.server calls
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                fake._answer(self)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}'
        self._thread = threading.Thread(target=self._server.serve_forever, name='fake-iam', daemon=True)

    def __enter__(self) -> FakeIAM:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def lifetime(self, *, age: int, remaining: int) -> None:
        """Tokens from now on were issued `age` s ago and expire in `remaining` s."""
        with self._lock:
            self._age, self._remaining = age, remaining

    def refuse(self, status: int = 400) -> None:
        """Token requests from now on get this error status, as IAM answers an unknown API key."""
        self._refusal = status

    def hang(self) -> None:
        """Token requests from now on get no answer until release()."""
        self._released.clear()
        self._hanging.set()

    def release(self) -> None:
        self._hanging.clear()
        self._released.set()

    def _answer(self, handler) -> None:
        now = time.time()
        if self._hanging.is_set():
            with self._lock:
                self.requests.append(TokenRequest(now, None))
            self._released.wait(HANG_LIMIT)
            return
        if self._refusal is not None:
            with self._lock:
                self.requests.append(TokenRequest(now, None))
            send_json(
                handler, self._refusal, {'errorCode': 'BXNIM0415E', 'errorMessage': 'API key not found'}
            )
            return
        with self._lock:
            iat, exp = int(now) - self._age, int(now) + self._remaining
            self.requests.append(TokenRequest(now, exp))
            serial = len(self.requests)
        token = jwt.encode(
            {'iat': iat, 'exp': exp, 'sub': 'couchgate-test', 'jti': str(serial)},
            'test-only-key-not-a-secret-0123456789',
            algorithm='HS256',
        )
        send_json(
            handler,
            200,
            {
                'access_token': token,
                'refresh_token': 'unused',
                'token_type': 'Bearer',
                'expires_in': exp - iat,
                'expiration': exp,
            },
        )


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    """Answer an http.server request with `payload` as JSON."""
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header('Content-Type', 'application/json')
    handler.send_header('Content-Length', str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
