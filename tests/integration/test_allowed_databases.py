"""A database off the allowlist is a 404, and the server never hears of the request."""

from tests.support.problems import assert_problem


def test_a_database_off_the_allowlist_is_404_with_no_upstream_request(client, front, make_db):
    other = make_db()
    for path in ['/v1/_users/docs', f'/v1/{other}/docs', f'/v1/{other}/docs/x', '/v1/_all_dbs/docs']:
        assert_problem(client.simulate_get(path), 404, 'unknown-database')
    assert client.simulate_post(f'/v1/{other}/docs', json={'a': 1}).status_code == 404
    assert front.request_count == 0
