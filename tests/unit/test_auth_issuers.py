"""AUTH_ISSUERS (issue 23): what a trusted issuer's object may say, and the one line that stops
start-up, naming the issuer, when it says something wrong."""

from __future__ import annotations

import json

import pytest

from api.config import ConfigError, Settings

GOOD = {
    'name': 'app-users',
    'issuer': 'https://example.eu.auth0.com/',
    'audience': 'https://api.example.com',
    'algorithms': ['RS256'],
    'scopes': ['read', 'query', 'write'],
    'databases': ['foundbite'],
    'id_prefix': 'u:{sub}:',
}


def settings(*issuers: dict, **env: str) -> Settings:
    return Settings.from_env(
        dict({'CLOUDANT_DATABASES': 'foundbite', 'AUTH_ISSUERS': json.dumps(issuers)}, **env)
    )


def test_the_issue_example_is_accepted_with_its_defaults():
    (issuer,) = settings(GOOD).auth_issuers
    assert issuer.name == 'app-users' and issuer.audience == ('https://api.example.com',)
    assert issuer.algorithms == ('RS256',) and issuer.leeway == 60.0 and issuer.jwks_uri is None
    assert issuer.scopes == {'read', 'query', 'write'} and issuer.databases == {'foundbite'}
    assert issuer.discovery_url == 'https://example.eu.auth0.com/.well-known/openid-configuration'
    minimal = {k: GOOD[k] for k in ('name', 'issuer', 'audience')}
    (bare,) = settings(minimal).auth_issuers
    assert bare.algorithms == ('RS256',) and bare.scopes == {'read', 'query', 'export', 'write'}


def test_every_optional_member_is_read():
    member = dict(
        GOOD,
        audience=['a', 'b'],
        algorithms=['ES256', 'PS256', 'EdDSA'],
        leeway=5,
        quota={'reads': 3},
        jwks_uri='https://example.eu.auth0.com/.well-known/jwks.json',
    )
    (issuer,) = settings(member).auth_issuers
    assert (
        issuer.audience == ('a', 'b')
        and issuer.leeway == 5.0
        and issuer.quota is not None
        and issuer.quota.reads == 3
    )
    assert issuer.algorithms == ('ES256', 'PS256', 'EdDSA') and str(issuer.jwks_uri).endswith('jwks.json')


def test_no_variable_means_no_issuers_and_api_keys_keep_working_beside_them():
    assert Settings.from_env({}).auth_issuers == ()
    both = settings(GOOD, API_KEYS='ci:abcdefghijklmnop0123')
    assert both.api_keys[0].name == 'ci' and both.auth_issuers[0].name == 'app-users'


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        ({'audiences': 'x'}, 'unknown member "audiences"'),
        ({'algorithms': ['none']}, 'allows the algorithm "none"'),
        ({'algorithms': ['RS256', 'HS256']}, 'allows the algorithm "HS256"'),
        ({'algorithms': ['HS512']}, 'only asymmetric ones'),
        ({'algorithms': ['RS1']}, 'unknown algorithm "RS1"'),
        ({'algorithms': []}, '"algorithms"'),
        ({'id_prefix': 'u:'}, 'without "{sub}"'),
        ({'id_prefix': 'u:{sub}:{sub}:'}, 'without "{sub}"'),
        ({'id_prefix': 'u:{sub}'}, 'does not end with a character'),
        ({'id_prefix': 'u:{sub}-'}, 'does not end with a character'),
        ({'id_prefix': 'u:{sub}a'}, 'does not end with a character'),
        ({'id_prefix': 'u:{sub}%'}, 'does not end with a character'),
        ({'id_prefix': '_u:{sub}:'}, 'starting with fixed text'),
        ({'id_prefix': '{sub}:'}, 'starting with fixed text'),
        ({'issuer': 'http://example.com/'}, '"issuer" URL'),
        ({'issuer': 'http://localhost.example.com/'}, '"issuer" URL'),
        ({'issuer': 'file:///etc/keys'}, '"issuer" URL'),
        ({'issuer': 'https://user:pw@example.com/'}, '"issuer" URL'),
        ({'jwks_uri': 'http://example.com/jwks'}, '"jwks_uri"'),
        ({'scopes': ['read', 'admin']}, '"scopes"'),
        ({'scopes': []}, '"scopes"'),
        ({'databases': ['elsewhere']}, "outside CLOUDANT_DATABASES: 'elsewhere'"),
        ({'audience': ''}, '"audience"'),
        ({'audience': []}, '"audience"'),
        ({'leeway': -1}, '"leeway"'),
        ({'leeway': '60'}, '"leeway"'),
        ({'quota': {'reads': 0}}, '"quota"'),
    ],
)
def test_a_wrong_member_stops_start_up_with_one_line_naming_the_issuer(change, message):
    member = {k: v for k, v in dict(GOOD, **change).items() if v is not None}
    with pytest.raises(ConfigError, match='AUTH_ISSUERS') as refused:
        settings(member)
    assert message in str(refused.value)
    assert 'issuer 1 (app-users)' in str(refused.value) and '\n' not in str(refused.value)


@pytest.mark.parametrize('issuer', ['http://localhost:8081', 'http://127.0.0.1:9999/realms/dev'])
def test_plain_http_is_for_localhost_and_127_0_0_1_only(issuer):
    assert settings(dict(GOOD, issuer=issuer)).auth_issuers[0].issuer == issuer


@pytest.mark.parametrize(
    ('raw', 'message'),
    [
        ('{"name": "x"}', 'not a valid JSON array'),
        ('[1]', 'issuer 1 is not a JSON object'),
        (json.dumps([dict(GOOD, name='bad name')]), 'the name of issuer 1'),
        (json.dumps([GOOD, dict(GOOD, issuer='https://other.example/')]), "repeats the name 'app-users'"),
        (json.dumps([GOOD, dict(GOOD, name='b')]), 'issuer 2 (b) repeats the issuer'),
    ],
)
def test_the_array_and_its_names_are_checked(raw, message):
    with pytest.raises(ConfigError, match='AUTH_ISSUERS') as refused:
        Settings.from_env({'CLOUDANT_DATABASES': 'foundbite', 'AUTH_ISSUERS': raw})
    assert message in str(refused.value)


def test_an_issuer_may_not_share_a_name_with_an_api_key():
    with pytest.raises(ConfigError, match="issuer name 'app-users' is also the name of an API key"):
        settings(GOOD, API_KEYS='app-users:abcdefghijklmnop0123')


def test_tokens_alone_may_guard_reads():
    assert settings(GOOD, API_REQUIRE_KEY_FOR_READS='1').require_key_for_reads
