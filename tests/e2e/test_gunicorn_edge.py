"""The edge as a client meets it: raw HTTP/1.1 to gunicorn running couchgate, as the Procfile runs it.

What a test client cannot show: how the real server frames bodies (Content-Length, chunked, both),
decodes paths before routing, and what its own headers say.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import http.client
import json
import socket
import threading
import uuid

import pytest

from tests.support.api_keys import TEST_KEY, TEST_KEYS
from tests.support.gunicorn_process import WebProcess
from tests.support.problems import assert_problem

LIMIT = 4096
TIMEOUT = 20  # generous: an answer that waited for a body never sent would exceed it


@pytest.fixture(scope='module')
def db(couch_admin):
    name = 't' + uuid.uuid4().hex[:12]
    assert couch_admin.put(name).status_code == 201
    yield name
    couch_admin.delete(name)


@pytest.fixture(scope='module')
def server(tls_front_server, ca_bundle, db):
    with WebProcess(
        WEB_CONCURRENCY='1',
        GUNICORN_THREADS='2',
        CLOUDANT_URL=tls_front_server.url,
        CLOUDANT_CA_BUNDLE=ca_bundle,
        CLOUDANT_DATABASES=db,
        API_KEYS=TEST_KEYS,
        API_MAX_BODY_BYTES=str(LIMIT),
    ) as gunicorn:
        gunicorn.wait_ready('/healthz')
        yield gunicorn


@dataclasses.dataclass
class Answer:
    """A raw exchange's answer, read whole, with what assert_problem reads of a response."""

    status_code: int
    headers: http.client.HTTPMessage
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.content)


def exchange(server, head: str, body: bytes = b'') -> Answer:
    """Send a hand-written request (the body from a thread: the answer may come before it is all sent)."""
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=TIMEOUT)
    request = head.replace('\n', '\r\n').encode('latin-1') + b'\r\n'

    def send():
        # OSError: the server answered and closed before taking it all, which is the point.
        with contextlib.suppress(OSError):
            sock.sendall(request + body)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, response.headers, response.read())
    finally:
        sender.join(TIMEOUT)
        sock.close()


def head(method: str, path: str, *headers: str) -> str:
    lines = [f'{method} {path} HTTP/1.1', 'Host: localhost', f'Authorization: Bearer {TEST_KEY}', *headers]
    return '\n'.join(lines) + '\n'


def chunked(data: bytes, size: int = 1000) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in pieces) + b'0\r\n\r\n'


def test_no_version_banner_and_security_headers_from_the_real_server(server):
    answer = exchange(server, head('GET', '/healthz'))
    assert answer.status_code == 200
    assert answer.headers.get('Server') in (None, 'gunicorn')  # a name, never a version
    assert answer.headers.get('X-Powered-By') is None
    assert answer.headers.get('X-Content-Type-Options') == 'nosniff'


def test_a_declared_huge_body_gets_413_without_being_sent(server, db):
    answer = exchange(
        server,
        head(
            'PUT',
            f'/v1/{db}/docs/huge',
            'Content-Type: application/json',
            f'Content-Length: {100 * 1024 * 1024}',
        ),
    )
    assert_problem(answer, 413, 'payload-too-large')


def test_a_chunked_body_over_the_limit_gets_413(server, db):
    data = json.dumps({'a': 'x' * (2 * LIMIT)}).encode()
    answer = exchange(
        server,
        head('PUT', f'/v1/{db}/docs/big', 'Content-Type: application/json', 'Transfer-Encoding: chunked'),
        chunked(data),
    )
    assert_problem(answer, 413, 'payload-too-large')


def test_a_chunked_body_within_the_limit_is_stored(server, db, couch_admin):
    data = json.dumps({'via': 'chunks', 'pad': 'x' * 2000}).encode()
    answer = exchange(
        server,
        head('PUT', f'/v1/{db}/docs/chunked', 'Content-Type: application/json', 'Transfer-Encoding: chunked'),
        chunked(data),
    )
    assert answer.status_code == 201
    assert couch_admin.get(f'{db}/chunked').json()['via'] == 'chunks'


def test_content_length_with_chunked_is_refused_not_guessed(server, db, couch_admin):
    data = b'{"a": 1}'
    answer = exchange(
        server,
        head(
            'PUT',
            f'/v1/{db}/docs/smuggled',
            'Content-Type: application/json',
            f'Content-Length: {len(data)}',
            'Transfer-Encoding: chunked',
        ),
        chunked(data),
    )
    assert answer.status_code == 400
    assert couch_admin.get(f'{db}/smuggled').status_code == 404


@pytest.mark.parametrize(
    'path, status, problem',
    [
        ('/v1/{db}/docs/%C0%AE%C0%AE%2F_users', 400, 'invalid-encoding'),
        ('/v1/{db}/docs/..', 400, 'invalid-document-id'),
        ('/v1/{db}/docs/.', 400, 'invalid-document-id'),
        ('/v1/{db}/docs/%2e%2e', 400, 'invalid-document-id'),
        ('/v1/{db}/docs/%5F_design%2Fx', 400, 'invalid-document-id'),
        ('/v1/{db}/docs/x%0D%0ASet-Cookie:%20a=b', 400, 'invalid-document-id'),
        ('/v1/%5Fusers/docs', 404, 'unknown-database'),
        ('/v1/{db}/docs?limit=1&limit=2', 400, 'invalid-parameter'),
    ],
)
def test_paths_as_the_real_server_decodes_them(server, db, path, status, problem):
    answer = exchange(server, head('GET', path.format(db=db)))
    assert_problem(answer, status, problem)
    assert answer.headers.get('Set-Cookie') is None


def test_head_and_a_gzipped_export_through_the_real_server_on_one_connection(server, db, couch_admin):
    couch_admin.post(
        f'{db}/_bulk_docs', json={'docs': [{'_id': f'g{i:03d}', 'pad': 'ab' * 300} for i in range(50)]}
    )
    connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=TIMEOUT)
    try:
        key = {'Authorization': f'Bearer {TEST_KEY}'}  # the export needs the `export` scope
        connection.request('HEAD', f'/v1/{db}/export', headers={'Accept-Encoding': 'gzip', **key})
        headed = connection.getresponse()
        assert (headed.status, headed.read()) == (200, b'')  # no body, or the next answer would not parse
        connection.request('GET', f'/v1/{db}/export', headers={'Accept-Encoding': 'gzip', **key})
        got = connection.getresponse()
        assert got.getheader('Content-Encoding') == headed.getheader('Content-Encoding') == 'gzip'
        assert got.getheader('Transfer-Encoding') == 'chunked'
        ids = [json.loads(line)['_id'] for line in gzip.decompress(got.read()).splitlines()]
        assert [i for i in ids if i.startswith('g')] == [
            f'g{i:03d}' for i in range(50)
        ]  # the module's db is shared
    finally:
        connection.close()
