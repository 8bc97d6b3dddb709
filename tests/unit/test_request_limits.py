"""Request bodies: over API_MAX_BODY_BYTES a 413 before the body is read, chunked ones included."""

from __future__ import annotations

import io

import pytest
from falcon import testing

from api.config import ConfigError, Settings
from tests.support.api_keys import KEY_HEADER
from tests.support.problems import assert_problem


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes (None: endless) that counts what the app reads of it."""

    def __init__(self, size: int | None = None) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = len(buffer) if self.size is None else min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b'x' * n
        self.read_bytes += n
        return n


def _call(app, environ) -> testing.Result:
    """Call the app as a WSGI server does, with this environ (its own wsgi.input)."""
    started = []
    body = b''.join(app(environ, lambda status, headers, *_: started.append((status, headers))))
    return testing.Result([body], *started[0])


def test_a_body_over_the_limit_is_refused_before_a_byte_is_read(client):
    stream = CountingStream(100 * 1024 * 1024)
    environ = testing.create_environ(
        method='PUT',
        path='/v1/foundbite/docs/big',
        headers=dict(KEY_HEADER, **{'Content-Type': 'application/json', 'Content-Length': str(stream.size)}),
    )
    environ['wsgi.input'] = stream
    assert_problem(_call(client.app, environ), 413, 'payload-too-large')
    assert stream.read_bytes == 0


def test_a_chunked_body_is_read_to_one_byte_past_the_limit_and_no_further(make_client):
    app = make_client(API_MAX_BODY_BYTES='4096').app
    stream = CountingStream(None)
    environ = testing.create_environ(
        method='PUT',
        path='/v1/foundbite/docs/big',
        headers=dict(KEY_HEADER, **{'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}),
    )
    environ.update({'wsgi.input': stream, 'wsgi.input_terminated': True})
    assert _call(app, environ).status_code == 413 and stream.read_bytes == 4097


def test_a_chunked_body_within_the_limit_is_stored(client, couch):
    environ = testing.create_environ(
        method='PUT',
        path='/v1/foundbite/docs/chunked',
        headers=dict(KEY_HEADER, **{'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}),
    )
    environ.update({'wsgi.input': io.BytesIO(b'{"via": "chunks"}'), 'wsgi.input_terminated': True})
    assert _call(client.app, environ).status_code == 201
    assert couch.dbs['foundbite']['chunked']['via'] == 'chunks'


def test_body_limit_is_a_whole_number_of_at_least_a_kibibyte():
    assert Settings.from_env({'API_MAX_BODY_BYTES': '2048'}).max_body_bytes == 2048
    for bad in ['1mb', '10', '-1']:
        with pytest.raises(ConfigError, match='API_MAX_BODY_BYTES'):
            Settings.from_env({'API_MAX_BODY_BYTES': bad})
