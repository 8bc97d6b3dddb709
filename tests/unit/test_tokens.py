"""Tokens as principals (issue 23), the pure parts: the `{sub}` encoding and why no user's prefix is a
prefix of another's, the scopes a token gets, and each worker's key sets (cooldown, refresh, the last
good set) with an in-memory fetch; then the real app, its KeyFetch binding swapped for that fetch.
"""

from __future__ import annotations

import threading

import pytest
import schemathesis
from falcon import testing
from hypothesis import given
from hypothesis import strategies as st
from injector import Binder, InstanceProvider, Module

from api.app import create_app
from api.auth import key_sets
from api.auth.jwks import KeyFetch, max_age
from api.auth.key_sets import KeySets, refresh_after
from api.auth.principals import InvalidToken, encode_subject, granted_scopes, principal_for
from api.config import Settings
from api.config.issuers import Issuer
from container import build_injector
from tests.support.fakes import FakeCouch, FakeCouchModule
from tests.support.oidc_issuer import AUDIENCE, OidcIssuer, SigningKey
from tests.support.poll import wait_for
from tests.support.sign_in import auth_issuers, signed_in

ISSUER = Issuer('app-users', 'https://id.example/', (AUDIENCE,), id_prefix='u:{sub}:')
COLLIDING = ['a', 'a:', 'a%3A', 'a%3a', 'a:b', 'a b', 'ä', 'a\u0308', '日本', 'auth0|abc', '~a', '_design']


@pytest.mark.parametrize(
    ('sub', 'encoded'),
    [
        ('auth0|abc', 'auth0%7Cabc'),
        ('a:', 'a%3A'),
        ('a%3A', 'a%253A'),
        ('ä', '%C3%A4'),
        ('~', '%7E'),
        ('Az09-_.', 'Az09-_.'),
    ],
)
def test_sub_is_percent_encoded_as_utf8_outside_the_unreserved_few(sub, encoded):
    assert encode_subject(sub) == encoded


def _prefix(sub: str) -> str:
    prefix = principal_for(ISSUER, {'sub': sub}).id_prefix
    assert prefix is not None
    return prefix


def test_subs_chosen_to_collide_get_prefixes_none_of_which_starts_another():
    prefixes = [_prefix(sub) for sub in COLLIDING]
    assert len(set(prefixes)) == len(COLLIDING)
    assert [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)] == []


@given(st.text(min_size=1), st.text(min_size=1))
def test_no_two_subs_give_prefixes_one_of_which_starts_the_other(one, other):
    if one != other:
        assert not _prefix(other).startswith(_prefix(one))


def test_a_token_gets_the_intersection_of_its_scope_claim_and_the_issuers_scopes():
    issuer = Issuer('x', 'https://id.example/', ('a',), scopes=frozenset({'read', 'write'}))
    assert granted_scopes(issuer, {}) == {'read', 'write'}
    assert granted_scopes(issuer, {'scope': 'openid read export'}) == {'read'}
    assert granted_scopes(issuer, {'scp': ['write', 'query']}) == {'write'}
    assert granted_scopes(issuer, {'scp': 'read write'}) == {'read', 'write'}  # Entra ID's form
    assert granted_scopes(issuer, {'scope': ''}) == set()
    with pytest.raises(InvalidToken, match='scope claim'):
        granted_scopes(issuer, {'scope': 5})


def test_a_principal_acts_as_a_key_with_a_quota_of_its_own():
    alice = principal_for(ISSUER, {'sub': 'auth0|alice'})
    bob = principal_for(ISSUER, {'sub': 'auth0|bob'})
    assert (alice.name, alice.id_prefix, alice.subject) == ('app-users', 'u:auth0%7Calice:', 'auth0|alice')
    assert alice.owner != bob.owner and 'auth0|alice' in alice.owner
    whole = Issuer('svc', 'https://id.example/', ('a',))
    assert principal_for(whole, {'sub': 's'}).id_prefix is None  # service tokens see whole databases


def test_refresh_comes_before_max_age_clamped_to_5_minutes_and_24_hours():
    assert max_age('public, max-age=600, must-revalidate') == 600
    assert max_age('no-store') is None
    assert refresh_after(None) < 3600 and refresh_after(600) < 600
    assert refresh_after(10) == refresh_after(300) and refresh_after(10**9) == refresh_after(86400)


class MemoryFetch:
    """An issuer in memory: the KeyFetch of unit tests, counting its fetches, failing on demand."""

    def __init__(self, issuer: OidcIssuer) -> None:
        self.issuer = issuer
        self.fetches = 0
        self.failing = False
        self.fetched = threading.Event()

    def get_json(self, url: str) -> tuple[object, float | None]:
        if url.endswith('openid-configuration'):
            return {'issuer': self.issuer.url, 'jwks_uri': self.issuer.url + '/jwks'}, None
        self.fetches += 1
        self.fetched.set()
        if self.failing:
            raise OSError('connection refused')
        return {'keys': [key.jwk for key in self.issuer.keys]}, 600


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Listener:
    def __init__(self) -> None:
        self.heard: list[tuple[str, bool]] = []

    def key_set_fetched(self, issuer: str, ok: bool) -> None:
        self.heard.append((issuer, ok))


@pytest.fixture
def local():
    # Its keys and tokens only: MemoryFetch answers in its place, as the issuer would.
    with OidcIssuer() as issuer:
        yield issuer


def test_an_unknown_kid_refetches_once_per_30_s_and_the_last_good_set_lasts_24_h(local):
    fetch, clock, listener = MemoryFetch(local), Clock(), Listener()
    (issuer,) = Settings.from_env({'AUTH_ISSUERS': auth_issuers(local)}).auth_issuers
    keys = KeySets((issuer,), fetch, listener, clock)
    assert keys.key(issuer, local.keys[0].kid) is not None and fetch.fetches == 1
    assert [keys.key(issuer, f'random-{n}') for n in range(100)] == [None] * 100
    assert fetch.fetches == 2
    rotated = local.rotate()
    assert keys.key(issuer, rotated.kid) is None  # within the cooldown
    clock.now += key_sets.REFETCH_COOLDOWN
    assert keys.key(issuer, rotated.kid) is not None and fetch.fetches == 3
    fetch.failing = True
    clock.now += key_sets.REFETCH_COOLDOWN
    assert keys.key(issuer, 'another') is None and fetch.fetches == 4
    assert keys.key(issuer, rotated.kid) is not None  # the last good set, after a failure
    assert keys.reachability(wait=0) == {'app-users': 'unreachable'}
    clock.now += key_sets.KEEP_LAST_GOOD
    assert keys.key(issuer, rotated.kid) is None  # too old to trust
    assert listener.heard[-1] == ('app-users', False) and ('app-users', True) in listener.heard


class MemoryFetchModule(Module):
    def __init__(self, fetch: KeyFetch) -> None:
        self._fetch = fetch

    def configure(self, binder: Binder) -> None:
        binder.bind(KeyFetch, to=InstanceProvider(self._fetch))


def _app(local: OidcIssuer, **env: str) -> testing.TestClient:
    settings = Settings.from_env(
        dict({'CLOUDANT_DATABASES': 'foundbite', 'AUTH_ISSUERS': auth_issuers(local)}, **env)
    )
    injector = build_injector(
        settings, FakeCouchModule(FakeCouch('foundbite')), MemoryFetchModule(MemoryFetch(local))
    )
    return testing.TestClient(create_app(injector))


def test_the_app_accepts_a_token_and_refuses_a_stranger_s_with_the_rfc_6750_challenge(local):
    client = _app(local)
    created = client.simulate_post(
        '/v1/foundbite/docs', json={'a': 1}, headers=signed_in(local.token(sub='al'))
    )
    assert created.status_code == 201 and created.json['id'].startswith('u:al:')
    refused = client.simulate_get('/v1/foundbite/docs', headers=signed_in(local.token(key=SigningKey())))
    assert refused.status_code == 401
    assert refused.headers['www-authenticate'] == (
        'Bearer realm="couchgate", error="invalid_token", '
        'error_description="the token is signed with an unknown key"'
    )


def test_without_issuers_a_jwt_is_an_invalid_token_and_api_keys_still_work(local):
    client = testing.TestClient(
        create_app(
            build_injector(
                Settings.from_env({'CLOUDANT_DATABASES': 'foundbite', 'API_KEYS': 'ci:abcdefghijklmnop0123'}),
                FakeCouchModule(FakeCouch('foundbite')),
            )
        )
    )
    refused = client.simulate_post('/v1/foundbite/docs', json={}, headers=signed_in(local.token()))
    assert refused.status_code == 401 and 'unknown issuer' in refused.headers['www-authenticate']
    accepted = client.simulate_post('/v1/foundbite/docs', json={}, headers=signed_in('abcdefghijklmnop0123'))
    assert accepted.status_code == 201


def test_the_openapi_document_declares_the_key_and_each_issuers_openid_connect_scheme(local):
    document = _app(local).simulate_get('/openapi.json').json
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema
    schemes = document['components']['securitySchemes']
    assert schemes['apiKey'] == dict(schemes['apiKey'], type='http', scheme='bearer')
    assert schemes['oidc.app-users']['type'] == 'openIdConnect'
    assert schemes['oidc.app-users']['openIdConnectUrl'] == local.url + '/.well-known/openid-configuration'
    post = document['paths']['/v1/{db}/docs']['post']['security']
    assert post == [{'apiKey': ['write']}, {'oidc.app-users': ['write']}]


class _Request:
    """What ApiKeys reads of a request: a header, a method, the typed context."""

    def __init__(self, token: str) -> None:
        from api.edge.context import RequestContext

        self.method = 'GET'
        self.context = RequestContext()
        self._token = token

    def get_header(self, name: str) -> str | None:
        return f'Bearer {self._token}' if name == 'Authorization' else None


def test_each_user_spends_a_quota_of_their_own_named_on_metrics_by_the_issuer(local):
    from api.auth.verifier import TokenVerifier
    from api.edge.keys import ApiKeys

    (issuer,) = Settings.from_env({'AUTH_ISSUERS': auth_issuers(local, quota={'reads': 5})}).auth_issuers
    keys = ApiKeys((), tokens=TokenVerifier((issuer,), KeySets((issuer,), MemoryFetch(local), Listener())))

    class Resource:
        def on_get(self, req, resp):
            pass

    records = {}
    for sub in ('alice', 'bob'):
        req = _Request(local.token(sub=sub))
        keys.process_resource(req, None, Resource(), {})
        records[sub] = req.context
    alice, bob = records['alice'], records['bob']
    assert alice.upstream_record.quota is not None and alice.upstream_record.quota.reads == 5
    assert alice.upstream_record.quota_key != bob.upstream_record.quota_key  # per (iss, sub)
    assert alice.owner == alice.upstream_record.quota_key and 'alice' in str(alice.owner)
    assert alice.upstream_record.quota_label == bob.upstream_record.quota_label == 'app-users'
    assert (alice.key_name, alice.subject) == ('app-users', 'alice')


def test_the_key_set_is_refreshed_in_the_background_without_a_request_waiting(local, monkeypatch):
    # The schedule shortened (refresh_after is tested above): the thread refetches on its own.
    monkeypatch.setattr(key_sets, 'refresh_after', lambda max_age: 0.01)
    fetch = MemoryFetch(local)
    (issuer,) = Settings.from_env({'AUTH_ISSUERS': auth_issuers(local)}).auth_issuers
    keys = KeySets((issuer,), fetch, Listener())
    assert fetch.fetches == 0  # nothing at construction: start-up never waits for an issuer
    assert keys.key(issuer, local.keys[0].kid) is not None
    rotated = local.rotate()
    wait_for(lambda: fetch.fetches >= 3, 'background refreshes')
    fetches = fetch.fetches
    assert keys.key(issuer, rotated.kid) is not None  # known from a refresh: no fetch of its own
    assert fetch.fetches - fetches <= 1
