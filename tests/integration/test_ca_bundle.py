"""CLOUDANT_CA_BUNDLE is the one trust the upstream client uses, whatever REQUESTS_CA_BUNDLE says."""

import certifi
import trustme

from tests.support.problems import assert_problem


def test_ca_bundle_wins_over_requests_ca_bundle(make_client, db, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certifi.where())  # trusts nothing the front presents
    client = make_client()
    assert client.simulate_get('/readyz').status_code == 200
    assert client.simulate_get(f'/v1/{db}/docs').status_code == 200


def test_a_wrong_ca_is_a_clear_503(make_client, front, db, tmp_path, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certifi.where())
    wrong = tmp_path / 'other-ca.pem'
    trustme.CA().cert_pem.write_to_path(str(wrong))
    result = make_client(CLOUDANT_CA_BUNDLE=str(wrong)).simulate_get(f'/v1/{db}/docs')
    assert 'TLS' in assert_problem(result, 503, 'upstream-unavailable')['detail']
    assert front.request_count == 0
