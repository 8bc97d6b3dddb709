"""Every answer, errors too: nosniff, a content security policy, a cache policy, no server banner."""

import pytest

from tests.support.api_keys import KEY_HEADER, TEST_KEYS

# API_KEYS named: a request carries the key only where a row sends it (an answer to it is private).
pytestmark = pytest.mark.app_env(API_KEYS=TEST_KEYS)


@pytest.mark.parametrize(
    'method, path, headers, cache_control',
    [
        ('GET', '/v1/foundbite/docs/d01', {}, 'no-cache'),
        ('GET', '/v1/foundbite/docs', {}, 'no-cache'),
        ('GET', '/v1/foundbite/docs/d01', KEY_HEADER, 'no-store'),
        ('GET', '/v1/foundbite/docs/d01', {'If-None-Match': '"1-fake"'}, 'no-cache'),
        ('PUT', '/v1/foundbite/docs/new', KEY_HEADER, 'no-store'),
        ('GET', '/v1/foundbite/docs/missing', {}, 'no-store'),
        ('GET', '/healthz', {}, 'no-store'),
        ('GET', '/openapi.json', {}, 'no-cache'),
        ('GET', '/docs', {}, 'max-age=3600'),
        ('GET', '/nope', {}, 'no-store'),
    ],
)
def test_every_answer_carries_nosniff_a_policy_and_its_cache_control(
    client, method, path, headers, cache_control
):
    result = client.simulate_request(method, path, headers=headers, json={} if method == 'PUT' else None)
    assert result.headers['x-content-type-options'] == 'nosniff'
    assert result.headers['cache-control'] == cache_control
    assert 'content-security-policy' in result.headers
    assert 'server' not in result.headers and 'x-powered-by' not in result.headers
