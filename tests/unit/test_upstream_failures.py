"""Upstream answers the client caused are passed on as the client's problem, not the gateway's."""

import json

import pytest
import requests
from ibm_cloud_sdk_core import ApiException

from api.errors import Problem
from api.upstream.failures import translated


@pytest.mark.parametrize(
    'status, problem_type',
    [
        (400, 'bad-request'),
        (404, 'not-found'),
        (412, 'precondition-failed'),
        (413, 'payload-too-large'),
    ],
)
def test_a_client_error_from_the_database_is_passed_on_in_the_apis_words(status, problem_type):
    with pytest.raises(Problem) as caught, translated(write=True):
        raise ApiException(status, message='from the database', http_response=_answer(status, 'x_y', 'z'))
    assert (caught.value.status_code, caught.value.problem_type) == (status, problem_type)
    detail = caught.value.description or ''
    assert detail.endswith('.') and 'x_y' not in detail


@pytest.mark.parametrize(
    'status, error, reason, problem_type, words',
    [
        (404, 'not_found', 'missing', 'not-found', 'No document with this id.'),
        (404, 'not_found', 'deleted', 'not-found', 'No document with this id.'),
        (404, 'not_found', 'no_db_file', 'not-found', 'The database does not exist.'),
        (404, 'not_found', 'Database does not exist.', 'not-found', 'The database does not exist.'),
        (400, 'bad_request', 'Cannot convert undefined or null to object', 'bad-request', 'invalid'),
        (
            400,
            'no_usable_index',
            'No index exists for this sort, try indexing by the sort fields.',
            'sort-needs-index',
            'no index for this sort',
        ),
        (
            400,
            'bad_request',
            'Cannot sort on field(s) "x" when using the default index',
            'sort-needs-index',
            'no index for this sort',
        ),
    ],
)
def test_upstream_words_never_reach_the_detail(status, error, reason, problem_type, words):
    with pytest.raises(Problem) as caught, translated():
        raise ApiException(status, message=reason, http_response=_answer(status, error, reason))
    assert (caught.value.status_code, caught.value.problem_type) == (status, problem_type)
    detail = caught.value.description or ''
    assert words in detail and error not in detail and reason not in detail


def _answer(status: int, error: str, reason: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps({'error': error, 'reason': reason}).encode()
    return response


@pytest.mark.parametrize('status', [500, 501, 507])
def test_a_server_error_from_the_database_is_a_502(status):
    with pytest.raises(Problem) as caught, translated():
        raise ApiException(status, message='from the database')
    assert (caught.value.status_code, caught.value.problem_type) == (502, 'bad-gateway')
