"""Every error is a problem document with a stable type; an unexpected one says nothing of its cause."""

from tests.support.fakes import ExplodingCouch
from tests.support.problems import assert_problem


def test_unknown_route_is_404_and_wrong_method_405_with_allow(client):
    assert_problem(client.simulate_get('/nope'), 404, 'not-found')
    result = client.simulate_patch('/v1/foundbite/docs')
    assert_problem(result, 405, 'method-not-allowed')
    assert set(result.headers['allow'].replace(' ', '').split(',')) >= {'GET', 'POST'}


def test_unexpected_error_is_a_bare_500_problem(make_client):
    result = make_client(ExplodingCouch('foundbite')).simulate_get('/v1/foundbite/docs/x')
    assert_problem(result, 500, 'internal-error')
    assert 'secret-internal-detail' not in result.text and 'Traceback' not in result.text
