"""Signing in (issue 23): OpenID Connect tokens from a real local issuer over HTTP act as keys, one
least-privilege principal per user, each in an id prefix of their own, against the real local server.

What a refused token gets is checked at the far end too: the TLS front counts the upstream requests
(none for any refusal) and the issuer counts the key-set fetches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.oidc_issuer import AUDIENCE, OidcIssuer, SigningKey
from tests.support.problems import assert_problem
from tests.support.sign_in import auth_issuers, signed_in


@pytest.fixture
def issuer():
    with OidcIssuer() as running:
        yield running


@pytest.fixture
def users(make_client, issuer):
    """The app trusting `issuer` (its users in u:{sub}:), reads needing a key or a token."""
    return make_client(AUTH_ISSUERS=auth_issuers(issuer), API_REQUIRE_KEY_FOR_READS='1')


def test_a_token_of_a_trusted_issuer_reads_and_writes_its_own_documents(users, db, issuer):
    token = issuer.token(sub='alice')
    created = users.simulate_put(f'/v1/{db}/docs/u%3Aalice%3Anote', json={'a': 1}, headers=signed_in(token))
    assert created.status_code == 201, created.text
    listed = users.simulate_get(f'/v1/{db}/docs', headers=signed_in(token))
    assert listed.status_code == 200
    assert [row['id'] for row in listed.json['rows']] == ['u:alice:note']


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _hs256_with_the_public_key(issuer: OidcIssuer) -> str:
    # The algorithm-confusion attack: the issuer's public key (PEM) as an HMAC secret. PyJWT refuses
    # to sign it, so it is signed here by hand.
    public = (
        issuer.keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    header = _b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': issuer.keys[0].kid}).encode())
    claims = {'iss': issuer.url, 'sub': 'mallory', 'aud': AUDIENCE, 'exp': now + 300}
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(public, f'{header}.{body}'.encode(), hashlib.sha256).digest()
    return f'{header}.{body}.{_b64(signature)}'


def _signed_as_is(issuer: OidcIssuer, claims: dict) -> str:
    # Claims PyJWT would refuse to encode, signed by the issuer's own key.
    key = issuer.keys[0]
    payload = json.dumps(dict(claims, exp=int(time.time()) + 300)).encode()
    return jwt.api_jws.encode(payload, key.private, algorithm=key.algorithm, headers={'kid': key.kid})


def _refused_tokens(issuer: OidcIssuer, attacker: OidcIssuer) -> dict[str, tuple[str, str]]:
    """name: (token, the error_description it gets)."""
    now = int(time.time())
    stranger = SigningKey()
    forged = SigningKey(kid=issuer.keys[0].kid)  # the issuer's kid, another key
    unsigned = jwt.encode({'iss': issuer.url, 'sub': 'm', 'aud': AUDIENCE, 'exp': now + 300}, '', 'none')
    return {
        'expired': (issuer.token(exp=now - 120), 'the token has expired'),
        'not-yet-valid': (issuer.token(nbf=now + 600), 'the token is not yet valid'),
        'issued-in-the-future': (issuer.token(iat=now + 600), 'the token is not yet valid'),
        'wrong-audience': (
            issuer.token(aud='https://api.elsewhere.test'),
            'the token has the wrong audience',
        ),
        'unknown-issuer': (attacker.token(), 'the token names an unknown issuer'),
        'no-iss': (issuer.token(iss=None), 'the token names an unknown issuer'),
        'iss-a-list': (
            _signed_as_is(issuer, {'iss': [issuer.url], 'sub': 's', 'aud': AUDIENCE}),
            'unknown issuer',
        ),
        'unknown-key': (issuer.token(key=stranger), 'the token is signed with an unknown key'),
        'bad-signature': (issuer.token(key=forged), 'the token has a bad signature'),
        'alg-none': (unsigned, 'alg not allowed for this issuer'),
        'hs256-public-key': (_hs256_with_the_public_key(issuer), 'alg not allowed for this issuer'),
        'crit': (issuer.token(headers={'crit': ['exp']}), 'the token has a crit header'),
        'too-large': (issuer.token(padding='x' * 8200), 'the token is too large (over 8 KiB)'),
        'no-sub': (issuer.token(sub=None), 'the token lacks the sub claim'),
        'no-aud': (issuer.token(aud=None), 'the token lacks the aud claim'),
        'no-exp': (issuer.token(exp=None), 'the token lacks the exp claim'),
        'empty-sub': (issuer.token(sub=''), 'the sub claim is not a non-empty string'),
        # Keys named by the token itself are never fetched nor trusted: the kid is looked up in the
        # issuer's own set only.
        'jku': (issuer.token(key=attacker.keys[0], headers={'jku': attacker.url + '/jwks'}), 'unknown key'),
        'jwk': (issuer.token(key=attacker.keys[0], headers={'jwk': attacker.keys[0].jwk}), 'unknown key'),
        'x5u': (issuer.token(key=attacker.keys[0], headers={'x5u': attacker.url + '/x5u'}), 'unknown key'),
        'garbage-segments': ('abc.def.ghi', 'the token is malformed'),
    }


def test_every_refusal_is_a_401_invalid_token_naming_its_check_and_sends_nothing_upstream(
    users, db, issuer, front
):
    with OidcIssuer() as attacker:
        refusals = _refused_tokens(issuer, attacker)
        users.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token()))  # the keys, fetched
        front.reset()
        for name, (token, description) in refusals.items():
            result = users.simulate_get(f'/v1/{db}/docs', headers=signed_in(token))
            body = assert_problem(result, 401, 'invalid-token')
            challenge = result.headers['www-authenticate']
            assert challenge.startswith(
                'Bearer realm="couchgate", error="invalid_token", error_description="'
            )
            assert description in challenge and description in body['detail'], name
            assert token not in result.text and token not in str(result.headers), name
        assert front.request_count == 0
        assert attacker.counts['arrived'] == 0  # jku, x5u: never followed


def test_a_valid_token_is_accepted_as_an_es256_token_too(make_client, db, issuer):
    es = SigningKey('ES256')
    issuer.keys.append(es)
    client = make_client(AUTH_ISSUERS=json.dumps([issuer.config(algorithms=['RS256', 'ES256'])]))
    assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token(key=es))).status_code == 200
    # A token within the leeway (60 s) of its expiry still passes.
    late = issuer.token(exp=int(time.time()) - 30)
    assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(late)).status_code == 200


def test_a_new_kid_is_accepted_after_one_refetch(users, db, issuer):
    assert users.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())).status_code == 200
    fetched = issuer.counts['jwks']
    rotated = issuer.rotate()
    result = users.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token(key=rotated)))
    assert result.status_code == 200, result.text
    assert issuer.counts['jwks'] == fetched + 1
    assert issuer.counts['discovery'] == 1  # read once per worker


def test_a_thousand_random_kids_cause_at_most_one_fetch(users, db, issuer, capsys):
    from concurrent.futures import ThreadPoolExecutor

    assert users.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())).status_code == 200
    before = issuer.counts['jwks']
    stranger = SigningKey()
    tokens = [issuer.token(key=stranger, headers={'kid': uuid.uuid4().hex}) for _ in range(1000)]

    def send(token: str) -> int:
        return users.simulate_get(f'/v1/{db}/docs', headers=signed_in(token)).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, tokens))
    assert statuses == [401] * 1000
    assert issuer.counts['jwks'] - before <= 1
    # The issuer's own tokens still pass meanwhile, from the keys already held.
    assert send(issuer.token()) == 200
    with capsys.disabled():
        print(f'\n1,000 random kids: {issuer.counts["jwks"] - before} key-set fetch(es)')
