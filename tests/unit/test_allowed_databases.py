"""Only the databases of CLOUDANT_DATABASES are served: any other is a 404 before any upstream call."""

import pytest

from tests.support.problems import assert_problem


@pytest.mark.parametrize(
    'method, path',
    [
        ('GET', '/v1/_users/docs'),
        ('GET', '/v1/other/docs/x'),
        ('PUT', '/v1/_replicator/docs/x'),
        ('POST', '/v1/other/find'),
        ('DELETE', '/v1/other/docs/x'),
        ('POST', '/v1/_users/docs'),
    ],
)
def test_unknown_database_is_404_without_upstream_call(client, couch, method, path):
    result = client.simulate_request(method, path, json={'selector': {}})
    assert_problem(result, 404, 'unknown-database')
    assert couch.calls == []
