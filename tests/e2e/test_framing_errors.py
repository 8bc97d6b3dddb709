"""Client framing errors are client errors: a 4xx problem document from the real server, never a 500
and never gunicorn's text/html page, with the request id, security headers and an access line."""

from __future__ import annotations

import pytest

from tests.support.api_keys import TEST_KEY, TEST_KEYS
from tests.support.gunicorn_process import serving_database
from tests.support.problems import assert_problem
from tests.support.raw_http import exchange

HEAD = 'PUT /v1/{db}/docs/framed HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n'
CHUNKED = HEAD + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
DOC = b'{"a": 1, "b": 2}'  # 16 bytes

# The request as sent, the status and problem type of the answer. The chunked ones end with the
# client shutting its side, as a client whose body was cut short (or who gave up) does.
BODIES = {
    'chunk size 0xd': (CHUNKED.encode() + b'0xd\r\n' + DOC + b'\r\n0\r\n\r\n', 400, 'invalid-chunked-body'),
    'chunk size of 20 hex digits': (
        CHUNKED.encode() + b'ffffffffffffffffffff\r\n' + DOC + b'\r\n0\r\n\r\n',
        400,
        'invalid-chunked-body',
    ),
    'LF-only chunk lines': (CHUNKED.encode() + b'10\n' + DOC + b'\n0\n\n', 400, 'invalid-chunked-body'),
    'body cut short': (CHUNKED.encode() + b'20\r\n' + DOC, 400, 'invalid-chunked-body'),
}
HEADS = {
    'request line of two parts': ('GET /healthz\r\nHost: localhost\r\n\r\n', 400, 'invalid-request-line'),
    'HTTP/1.2': ('GET /healthz HTTP/1.2\r\nHost: localhost\r\n\r\n', 400, 'unsupported-http-version'),
    'HTTP/2.0 in an HTTP/1 request line': (
        'GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n',
        400,
        'unsupported-http-version',
    ),
    'HTTP/1.1 without Host': ('GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n', 400, 'missing-host'),
    'two Host headers': ('GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'invalid-header'),
    'LF-only head': ('GET /healthz HTTP/1.1\nHost: localhost\n\n', 400, 'invalid-request-line'),
    'a method with a slash': (
        'GE/T /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
        400,
        'invalid-request-line',
    ),
    'a header over 16 KiB': (
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ' + 'a' * 17_000 + '\r\n\r\n',
        431,
        'header-fields-too-large',
    ),
    'a head over 64 KiB': (
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\n'
        + ''.join(f'X-Pad-{n}: {"a" * 4000}\r\n' for n in range(20))
        + '\r\n',
        431,
        'header-fields-too-large',
    ),
    'a request line over 32 KiB': (
        'GET /healthz?pad=' + 'a' * 40_000 + ' HTTP/1.1\r\nHost: localhost\r\n\r\n',
        414,
        'uri-too-long',
    ),
}


@pytest.fixture(scope='module')
def web(pouch, couch_admin):
    with serving_database(pouch, couch_admin, 'framing', API_KEYS=TEST_KEYS) as process:
        yield process


def check(web, answer, status, problem):
    print(f'-> {answer.status_code} {answer.headers.get("content-type")}', end=' ')
    body = assert_problem(answer, status, problem)
    assert answer.version == 11  # the status line says HTTP/1.1, whatever the request said
    assert answer.headers['x-content-type-options'] == 'nosniff'
    assert answer.headers['cache-control'] == 'no-store'
    access = web.wait_for(
        lambda: [line for line in web.lines('gunicorn.access') if line['request_id'] == body['request_id']],
        10,
        'the access line',
    )
    assert [line['status'] for line in access] == [status]


@pytest.mark.parametrize('case', sorted(BODIES))
def test_a_malformed_chunked_body_gets_a_400_problem(web, case):
    request, status, problem = BODIES[case]
    request = request.replace(b'{db}', web.db.encode()).replace(b'{key}', TEST_KEY.encode())
    print(f'\n{case}', end=' ')
    check(web, exchange(web.port, request, half_close=True), status, problem)


@pytest.mark.parametrize('case', sorted(HEADS))
def test_a_bad_request_head_gets_a_4xx_problem(web, case):
    request, status, problem = HEADS[case]
    print(f'\n{case}', end=' ')
    check(web, exchange(web.port, request.encode('latin-1')), status, problem)


def test_the_worker_keeps_serving_after_every_refusal(web):
    answer = exchange(web.port, b'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
    assert answer.status_code == 200
    assert 'Traceback' not in web.output()


def test_the_worker_sends_the_security_headers_the_app_sends_with_a_problem(web):
    names = ('x-content-type-options', 'referrer-policy', 'content-security-policy', 'cache-control')
    from_app = exchange(web.port, b'GET /no-such-route HTTP/1.1\r\nHost: localhost\r\n\r\n')
    from_worker = exchange(web.port, b'GET /no-such-route HTTP/1.2\r\nHost: localhost\r\n\r\n')
    assert (from_app.status_code, from_worker.status_code) == (404, 400)
    assert [from_worker.headers[name] for name in names] == [from_app.headers[name] for name in names]
