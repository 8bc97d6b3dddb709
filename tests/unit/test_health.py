"""/healthz answers from the process alone; /readyz asks the upstream."""

from tests.support.problems import assert_problem


def test_healthz_answers_without_upstream_call(client, couch):
    result = client.simulate_get('/healthz')
    assert result.status_code == 200 and result.json == {'status': 'ok'}
    assert couch.calls == []


def test_readyz_is_200_when_upstream_answers_and_503_when_not(client, couch):
    assert client.simulate_get('/readyz').status_code == 200
    couch.unavailable = True
    result = client.simulate_get('/readyz')
    assert_problem(result, 503, 'upstream-unavailable')
    assert result.headers['retry-after'] == '1'
