"""Signing in while the issuer is down or slow (issue 23): the last good keys stay in use, a worker
without keys answers 401 and never hangs, a fetch is given up after 3 s and holds up no other request,
and /readyz names the unreachable issuer without failing.
"""

from __future__ import annotations

import threading
import time
import uuid

from prometheus_client.parser import text_string_to_metric_families

from tests.support.oidc_issuer import OidcIssuer, SigningKey
from tests.support.poll import wait_for
from tests.support.problems import assert_problem
from tests.support.sign_in import auth_issuers, signed_in


def _fetches(client, outcome: str) -> float:
    text = client.simulate_get('/metrics').text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == 'couchgate_jwks_fetches_total'
        and sample.labels == {'issuer': 'app-users', 'outcome': outcome}
    )


def test_when_the_issuer_goes_down_the_last_good_keys_still_verify(make_client, db):
    with OidcIssuer() as issuer:
        client = make_client(AUTH_ISSUERS=auth_issuers(issuer))
        assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())).status_code == 200
        issuer.down = True
        stranger = issuer.token(key=SigningKey())  # an unknown kid: a refetch, which fails
        assert_problem(
            client.simulate_get(f'/v1/{db}/docs', headers=signed_in(stranger)), 401, 'invalid-token'
        )
        assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())).status_code == 200
        ready = client.simulate_get('/readyz')
        assert ready.status_code == 200
        assert ready.json['unreachable_issuers'] == ['app-users']
        assert _fetches(client, 'failed') >= 1 and _fetches(client, 'ok') == 1


def test_a_worker_that_never_fetched_answers_401_within_seconds_when_the_issuer_is_unreachable(
    make_client, db
):
    with OidcIssuer() as gone:
        token = gone.token()
        config = auth_issuers(gone)
    # The issuer's port is closed now: every fetch fails at once.
    client = make_client(AUTH_ISSUERS=config)
    for _ in range(3):
        started = time.monotonic()
        result = client.simulate_get(f'/v1/{db}/docs', headers=signed_in(token))
        assert_problem(result, 401, 'invalid-token')
        assert 'unknown key' in result.headers['www-authenticate']
        assert time.monotonic() - started < 5
    ready = client.simulate_get('/readyz')
    assert ready.status_code == 200 and ready.json['issuers'] == {'app-users': 'unreachable'}
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200  # API keys are unaffected


def _in_background(client, path: str, token: str) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def send() -> None:
        started = time.monotonic()
        outcome['status'] = client.simulate_get(path, headers=signed_in(token)).status_code
        outcome['seconds'] = time.monotonic() - started

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, outcome


def test_a_slow_issuer_is_given_up_after_3_s_and_holds_up_no_other_request(make_client, db):
    with OidcIssuer() as issuer:
        issuer.delay = 30.0
        client = make_client(AUTH_ISSUERS=auth_issuers(issuer))
        waiting, outcome = _in_background(client, f'/v1/{db}/docs', issuer.token())
        wait_for(lambda: issuer.counts['arrived'] >= 1, 'the first fetch to reach the issuer')
        # Meanwhile an API key's request is answered, and so is another token of the same issuer.
        assert client.simulate_get(f'/v1/{db}/docs').status_code == 200
        assert waiting.is_alive()
        waiting.join(10)
        assert outcome['status'] == 401 and outcome['seconds'] < 5  # 3 s cap, some slack


def test_a_slow_refetch_does_not_hold_up_tokens_whose_keys_are_known(make_client, db):
    with OidcIssuer() as issuer:
        client = make_client(AUTH_ISSUERS=auth_issuers(issuer))
        assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())).status_code == 200
        issuer.delay = 30.0
        arrived = issuer.counts['arrived']
        unknown = issuer.token(key=SigningKey(), headers={'kid': uuid.uuid4().hex})
        waiting, outcome = _in_background(client, f'/v1/{db}/docs', unknown)
        wait_for(lambda: issuer.counts['arrived'] > arrived, 'the refetch to reach the issuer')
        assert (
            client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token(sub='bob'))).status_code
            == 200
        )
        assert waiting.is_alive()
        waiting.join(10)
        assert outcome['status'] == 401 and outcome['seconds'] < 5


def test_a_discovery_document_naming_another_issuer_is_not_trusted(make_client, db):
    with OidcIssuer() as issuer:
        issuer.discovery_names = 'https://impostor.example/'
        client = make_client(AUTH_ISSUERS=auth_issuers(issuer))
        assert_problem(
            client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())), 401, 'invalid-token'
        )
        assert issuer.counts['jwks'] == 0
        assert client.simulate_get('/readyz').json['unreachable_issuers'] == ['app-users']


def test_with_a_jwks_uri_no_discovery_document_is_read(make_client, db):
    with OidcIssuer() as issuer:
        client = make_client(AUTH_ISSUERS=auth_issuers(issuer, jwks_uri=issuer.url + '/jwks'))
        assert client.simulate_get(f'/v1/{db}/docs', headers=signed_in(issuer.token())).status_code == 200
        assert issuer.counts == {'discovery': 0, 'jwks': 1, 'arrived': 1}
