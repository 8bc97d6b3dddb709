"""Upstream answers the client caused are passed on as the client's problem, not the gateway's."""

import pytest
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
def test_a_client_error_from_the_database_is_passed_on(status, problem_type):
    with pytest.raises(Problem) as caught, translated(write=True):
        raise ApiException(status, message='from the database')
    assert (caught.value.status_code, caught.value.problem_type) == (status, problem_type)


@pytest.mark.parametrize('status', [500, 501, 507])
def test_a_server_error_from_the_database_is_a_502(status):
    with pytest.raises(Problem) as caught, translated():
        raise ApiException(status, message='from the database')
    assert (caught.value.status_code, caught.value.problem_type) == (502, 'bad-gateway')
