"""Every problem type resolves to a page, and every problem has the same title style (the reason phrase)."""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path

import falcon
import pytest

from api.edge.framing import framing_types
from api.edge.problem_types import PROBLEM_TYPES
from api.errors import FALCON_TYPES, Problem
from api.upstream.failures import _REFUSED
from tests.support.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]
# Problem(400, 'invalid-json', ...) and strict_json's _Refused('duplicate-key', ...): a literal type name.
RAISED = re.compile(r"\b(?:Problem|_Refused)\(\s*(?:\d{3},\s*)?'([a-z0-9-]+)'")


def raised_types() -> set[str]:
    """Every type name the code can put in a problem: literals in api/ and resources/, and the tables."""
    found = {
        name
        for package in ('api', 'resources')
        for path in (ROOT / package).rglob('*.py')
        for name in RAISED.findall(path.read_text(encoding='utf-8'))
    }
    return found | FALCON_TYPES | {problem.problem_type for problem in _REFUSED.values()} | framing_types()


def test_the_scan_finds_the_types_the_code_raises():
    found = raised_types()
    expected = {
        'invalid-json',
        'duplicate-key',
        'no-keys-configured',
        'upstream-timeout',
        'method-not-allowed',
    }
    assert expected <= found
    assert len(found) >= 30


@pytest.mark.app_env(API_REQUIRE_KEY_FOR_READS='1')
@pytest.mark.parametrize('name', sorted(raised_types()))
def test_every_problem_type_the_code_raises_has_a_public_page(make_client, name):
    page = make_client(API_KEYS='ci:abcdefghijklmnop0123').simulate_get(f'/problems/{name}')  # no key sent
    assert page.status_code == 200, name
    assert page.headers['content-type'].startswith('text/html')
    assert f'<h1>{name}</h1>' in page.text and 'What to do' in page.text


@pytest.mark.parametrize('name', ['nope', 'NOT-FOUND', 'not-found.html', '..', 'error%2Fx'])
def test_an_unknown_problem_type_is_a_404_problem(client, name):
    assert_problem(client.simulate_get(f'/problems/{name}'), 404, 'not-found')


def test_the_index_and_the_openapi_document_list_every_page(client):
    index = client.simulate_get('/problems')
    assert index.status_code == 200
    assert set(re.findall(r'href="/problems/([a-z0-9-]+)"', index.text)) == set(PROBLEM_TYPES)
    document = client.simulate_get('/openapi.json').json
    assert document['components']['schemas']['ProblemTypeName']['enum'] == sorted(PROBLEM_TYPES)


FALCON_ERRORS = [
    falcon.HTTPBadRequest(),
    falcon.HTTPInvalidParam('It must be a number.', 'limit'),
    falcon.HTTPNotFound(),
    falcon.HTTPMethodNotAllowed(['GET']),
    falcon.HTTPLengthRequired(),
    falcon.HTTPContentTooLarge(),
    falcon.HTTPUnsupportedMediaType(),
    falcon.HTTPRequestHeaderFieldsTooLarge(),
    falcon.HTTPServiceUnavailable(),
    falcon.HTTPError(418),
    Problem(412, 'precondition-failed', 'Stale.'),
    Problem(504, 'upstream-timeout', 'Slow.'),
]


@pytest.mark.parametrize('error', FALCON_ERRORS, ids=lambda e: f'{type(e).__name__}-{e.status_code}')
def test_every_problem_title_is_the_reason_phrase_whoever_raised_it(client, error):
    class Failing:
        def on_get(self, req, resp):
            raise error

    client.app.add_route('/failing', Failing())
    result = client.simulate_get('/failing')
    body = result.json
    assert result.status_code == error.status_code
    assert body['title'] == HTTPStatus(error.status_code).phrase, body
    assert not re.match(r'\d', body['title'])
    assert body['detail'] and body['type'].removeprefix('/problems/') in PROBLEM_TYPES
