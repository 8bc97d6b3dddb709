"""CORS: answered for the origins of CORS_ALLOW_ORIGINS only, exact origins or a lone star."""

import pytest

from api.config import ConfigError, Settings
from tests.support.api_keys import TEST_KEYS

# API_KEYS named: no key on these requests, as a browser's cross-origin request has none.
pytestmark = pytest.mark.app_env(API_KEYS=TEST_KEYS)


def test_cors_answers_only_the_listed_origins(make_client):
    client = make_client(CORS_ALLOW_ORIGINS='https://app.example.com')
    allowed = client.simulate_get('/v1/foundbite/docs/d01', headers={'Origin': 'https://app.example.com'})
    assert allowed.headers['access-control-allow-origin'] == 'https://app.example.com'
    assert (
        'ETag' in allowed.headers['access-control-expose-headers']
        and allowed.headers['vary'] == 'Accept-Encoding, Origin'
    )
    assert 'access-control-allow-credentials' not in allowed.headers
    preflight = client.simulate_options(
        '/v1/foundbite/docs/d01',
        headers={
            'Origin': 'https://app.example.com',
            'Access-Control-Request-Method': 'PUT',
            'Access-Control-Request-Headers': 'authorization, content-type, if-match',
        },
    )
    assert preflight.status_code == 204 and 'PUT' in preflight.headers['access-control-allow-methods']
    assert 'authorization' in preflight.headers['access-control-allow-headers']
    for origin in ['https://evil.example.com', 'https://app.example.com.evil.com', 'null']:
        refused = client.simulate_get('/v1/foundbite/docs/d01', headers={'Origin': origin})
        assert 'access-control-allow-origin' not in refused.headers
    default = make_client().simulate_get('/healthz', headers={'Origin': 'https://app.example.com'})
    assert 'access-control-allow-origin' not in default.headers


def test_cors_origins_are_exact_origins_or_a_lone_star():
    s = Settings.from_env({'CORS_ALLOW_ORIGINS': 'https://app.example.com, http://localhost:3000/'})
    assert s.cors_allow_origins == ('https://app.example.com', 'http://localhost:3000')
    assert Settings.from_env({'CORS_ALLOW_ORIGINS': '*'}).cors_allow_origins == ('*',)
    for bad in ['app.example.com', 'https://app.example.com/path', '*,https://a.example.com', 'ftp://x']:
        with pytest.raises(ConfigError, match='CORS_ALLOW_ORIGINS'):
            Settings.from_env({'CORS_ALLOW_ORIGINS': bad})
