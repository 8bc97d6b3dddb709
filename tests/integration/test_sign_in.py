"""Signing in (issue 23): OpenID Connect tokens from a real local issuer over HTTP act as keys, one
least-privilege principal per user, each in an id prefix of their own, against the real local server.
"""

from __future__ import annotations

import json

import pytest

from tests.support.oidc_issuer import OidcIssuer


@pytest.fixture
def issuer():
    with OidcIssuer() as running:
        yield running


@pytest.fixture
def users(make_client, issuer):
    """The app trusting `issuer` (its users in u:{sub}:), reads needing a key or a token."""
    config = issuer.config(id_prefix='u:{sub}:')
    return make_client(AUTH_ISSUERS=json.dumps([config]), API_REQUIRE_KEY_FOR_READS='1')


def signed_in(token: str) -> dict:
    return {'Authorization': f'Bearer {token}'}


def test_a_token_of_a_trusted_issuer_reads_and_writes_its_own_documents(users, db, issuer):
    token = issuer.token(sub='alice')
    created = users.simulate_put(f'/v1/{db}/docs/u%3Aalice%3Anote', json={'a': 1}, headers=signed_in(token))
    assert created.status_code == 201, created.text
    listed = users.simulate_get(f'/v1/{db}/docs', headers=signed_in(token))
    assert listed.status_code == 200
    assert [row['id'] for row in listed.json['rows']] == ['u:alice:note']
