"""The edge's framing: a request head collected byte by byte, and gunicorn's framing errors as problems."""

from __future__ import annotations

import pytest
from falcon import testing
from gunicorn.http import body, errors
from gunicorn.http.unreader import IterUnreader

from api.edge.framing import framing_problem, raw_answer
from api.edge.request_head import RequestHead, Verdict
from tests.support.api_keys import KEY_HEADER
from tests.support.problems import assert_problem

HEAD = b'GET /v1/foundbite/docs HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n'


def test_a_head_sent_a_byte_at_a_time_is_complete_at_its_blank_line_and_not_before():
    head = RequestHead()
    verdicts = [head.feed(HEAD[i : i + 1]) for i in range(len(HEAD))]
    assert verdicts == [Verdict.INCOMPLETE] * (len(HEAD) - 1) + [Verdict.COMPLETE]
    assert bytes(head.data) == HEAD


def test_a_head_with_body_bytes_behind_it_is_complete():
    assert RequestHead().feed(HEAD + b'{"a": 1}') is Verdict.COMPLETE


@pytest.mark.parametrize(
    'data, verdict',
    [
        (b'GET /' + b'a' * 100, Verdict.LINE_TOO_LONG),  # no line end yet, already too long
        (b'GET /' + b'a' * 90 + b' HTTP/1.1\r\n', Verdict.LINE_TOO_LONG),
        (b'GET / HTTP/1.1\r\nX-A: ' + b'a' * 200, Verdict.HEAD_TOO_LARGE),
        (b'GET / HTTP/1.1\nHost: x\n\n', Verdict.COMPLETE),  # a bare LF: gunicorn's parser refuses it
        (b'GET / HTTP/1.1\r\nHost: x\n', Verdict.COMPLETE),
        (b'\r\nGET / HTTP/1.0\r\n\r\n', Verdict.COMPLETE),  # the one empty line RFC 9112 allows first
        (b'GET / HTTP/1.1\r\nHost: x\r\n', Verdict.INCOMPLETE),
    ],
)
def test_the_verdict_on_what_has_arrived(data, verdict):
    assert RequestHead(line_limit=64, head_limit=128).feed(data) is verdict


def test_a_line_end_split_across_two_reads_is_found():
    head = RequestHead(line_limit=64, head_limit=128)
    assert head.feed(b'GET / HTTP/1.1\r') is Verdict.INCOMPLETE
    assert head.feed(b'\nHost: x\r\n\r') is Verdict.INCOMPLETE
    assert head.feed(b'\n') is Verdict.COMPLETE


@pytest.mark.parametrize(
    'error, status, problem_type',
    [
        (errors.InvalidChunkSize(b'0xd'), 400, 'invalid-chunked-body'),
        (errors.NoMoreData(b''), 400, 'invalid-chunked-body'),
        (errors.InvalidRequestLine('GET /'), 400, 'invalid-request-line'),
        (errors.InvalidHTTPVersion('HTTP/1.2'), 400, 'unsupported-http-version'),
        (errors.LimitRequestLine(40000, 32768), 414, 'uri-too-long'),
        (errors.LimitRequestHeaders('too many'), 431, 'header-fields-too-large'),
        (errors.InvalidHeader('HOST'), 400, 'invalid-header'),
    ],
)
def test_a_client_framing_error_is_a_4xx_problem(error, status, problem_type):
    problem = framing_problem(error)
    assert problem is not None
    assert (problem.status_code, problem.problem_type) == (status, problem_type)


def test_an_error_that_is_not_the_client_s_is_no_framing_problem():
    assert framing_problem(errors.InvalidResponseHeader('X-Bad')) is None
    assert framing_problem(ValueError('ours')) is None


def test_the_worker_s_answer_is_a_whole_problem_response():
    problem = framing_problem(errors.InvalidHTTPVersion('HTTP/1.2'))
    assert problem is not None
    head, _, document = raw_answer(problem, 'req-1').partition(b'\r\n\r\n')
    lines = head.decode().split('\r\n')
    assert lines[0] == 'HTTP/1.1 400 Bad Request'
    assert {'Connection: close', 'Content-Type: application/problem+json', 'X-Request-ID: req-1'} <= set(
        lines
    )
    assert f'Content-Length: {len(document)}' in lines
    assert b'"request_id": "req-1"' in document


def test_a_chunked_body_gunicorn_cannot_read_is_a_400_problem_from_the_app(client):
    # gunicorn's own chunked reader over a body whose chunk size is not hexadecimal.
    reader = body.Body(body.ChunkedReader(None, IterUnreader([b'0xd\r\n{"a": 1}\r\n0\r\n\r\n'])))
    environ = testing.create_environ(
        method='PUT',
        path='/v1/foundbite/docs/framed',
        headers=dict(KEY_HEADER, **{'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}),
    )
    environ.update({'wsgi.input': reader, 'wsgi.input_terminated': True})
    started: list = []
    document = b''.join(client.app(environ, lambda status, headers, *_: started.append((status, headers))))
    result = testing.Result([document], *started[0])
    assert_problem(result, 400, 'invalid-chunked-body')
