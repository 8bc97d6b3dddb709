"""Signing in through gunicorn (issue 23): the Procfile's web line trusting a real local issuer; a
token acts as its user, and one over 8 KiB reaches the app and gets its 401 `invalid-token`."""

from __future__ import annotations

import pytest
import requests

from tests.support.gunicorn_process import serving_database
from tests.support.oidc_issuer import OidcIssuer
from tests.support.problems import assert_problem
from tests.support.sign_in import auth_issuers, signed_in


@pytest.fixture(scope='module')
def issuer():
    with OidcIssuer() as running:
        yield running


@pytest.fixture(scope='module')
def web(pouch, couch_admin, issuer):
    with serving_database(pouch, couch_admin, 'signin', AUTH_ISSUERS=auth_issuers(issuer)) as process:
        yield process


def test_a_token_writes_in_its_users_prefix_through_gunicorn(web, issuer):
    created = requests.post(
        f'{web.url}/v1/signin/docs', json={'a': 1}, headers=signed_in(issuer.token(sub='dana')), timeout=30
    )
    assert created.status_code == 201, created.text
    assert created.json()['id'].startswith('u:dana:')
    ready = requests.get(f'{web.url}/readyz', timeout=30)
    assert ready.status_code == 200 and ready.json()['issuers'] == {'app-users': 'reachable'}


def test_a_token_over_8_kib_is_an_invalid_token_not_a_431(web, issuer):
    token = issuer.token(padding='x' * 9000)
    refused = requests.get(f'{web.url}/v1/signin/docs', headers=signed_in(token), timeout=30)
    assert_problem(refused, 401, 'invalid-token')
    assert refused.headers['WWW-Authenticate'] == (
        'Bearer realm="couchgate", error="invalid_token", '
        'error_description="the token is too large (over 8 KiB)"'
    )
