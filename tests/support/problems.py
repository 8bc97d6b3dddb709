"""One check of a problem document (RFC 9457), for falcon.testing's Result and requests' Response."""

from __future__ import annotations

from http import HTTPStatus

PROBLEM_JSON = 'application/problem+json'  # written out, not imported: the test states the contract


def assert_problem(response, status: int, problem_type: str) -> dict:
    """Assert `response` is a complete problem document of `status` and `problem_type` (the name
    after /problems/); returns its body.

    `response` needs status_code, headers, text and json (an attribute, or a method as in requests).
    """
    assert response.status_code == status, f'{response.status_code}: {response.text}'
    assert response.headers['content-type'] == PROBLEM_JSON
    body = response.json() if callable(response.json) else response.json
    assert body['type'] == f'/problems/{problem_type}', body
    assert body['status'] == status
    assert body['title'] == HTTPStatus(status).phrase, body  # one style: the reason phrase, no code
    assert body['detail']
    assert body['request_id'] == response.headers['x-request-id']
    assert 'Traceback' not in response.text
    return body
