"""The TLS front the tests count with (tests/support/tls_front.py): it sees what the server side sees."""

import json

import requests

from tests.support.pouch import free_port
from tests.support.tls_front import TLSFront


def get(session, front, path, ca_bundle):
    # verify= per request: REQUESTS_CA_BUNDLE in the environment would override session.verify.
    response = session.get(front.url + path, verify=ca_bundle, timeout=10)
    response.raise_for_status()
    return response


def test_one_session_reuses_one_tls_connection(front, ca_bundle):
    with requests.Session() as session:
        for _ in range(20):
            get(session, front, '/', ca_bundle)
    assert front.accepted_connections == 1
    assert front.request_count == 20
    assert {record.connection for record in front.requests} == {front.requests[0].connection}


def test_a_fresh_session_per_request_opens_a_connection_each(front, ca_bundle):
    for _ in range(20):
        with requests.Session() as session:
            get(session, front, '/', ca_bundle)
    assert front.accepted_connections == 20
    assert front.request_count == 20


def test_session_reconnects_after_front_closes_idle_connections(front, ca_bundle):
    with requests.Session() as session:
        get(session, front, '/', ca_bundle)
        assert front.close_idle_connections() == 1
        assert front.open_connections == 0
        get(session, front, '/', ca_bundle)
    assert front.accepted_connections == 2


def test_large_document_round_trips_intact(front, ca_bundle, make_db):
    db = make_db()
    doc = {'payload': 'x' * (2 * 1024 * 1024), 'n': list(range(1000))}
    with requests.Session() as session:
        put = session.put(
            f'{front.url}/{db}/big',
            data=json.dumps(doc),
            headers={'Content-Type': 'application/json'},
            verify=ca_bundle,
            timeout=30,
        )
        assert put.status_code == 201, put.text
        body = get(session, front, f'/{db}/big', ca_bundle).json()
    assert body['payload'] == doc['payload']
    assert body['n'] == doc['n']
    assert front.accepted_connections == 1


def test_request_paths_are_recorded_undecoded(front, ca_bundle, make_db, couch_admin):
    db = make_db()
    assert couch_admin.put(f'{db}/a%2Fb', json={'k': 1}).status_code == 201
    with requests.Session() as session:
        assert get(session, front, f'/{db}/a%2Fb', ca_bundle).json()['k'] == 1
    assert [(r.method, r.path) for r in front.requests] == [('GET', f'/{db}/a%2Fb')]


def test_client_connection_survives_upstream_closing_its_idle_connection(front, ca_bundle):
    with requests.Session() as session:
        get(session, front, '/', ca_bundle)
        assert front.close_upstream_connections() == 1
        get(session, front, '/', ca_bundle)
    assert front.accepted_connections == 1
    assert front.upstream_connections_opened == 2
    assert front.request_count == 2


def test_chunked_request_body_is_forwarded(front, ca_bundle, make_db):
    db = make_db()
    pieces = [b'{"k": ', b'"chunked"}']
    with requests.Session() as session:
        put = session.put(
            f'{front.url}/{db}/c',
            data=iter(pieces),
            headers={'Content-Type': 'application/json'},
            verify=ca_bundle,
            timeout=10,
        )
        assert put.status_code == 201, put.text
        assert get(session, front, f'/{db}/c', ca_bundle).json()['k'] == 'chunked'
    assert front.accepted_connections == 1


def test_front_answers_502_when_upstream_is_unreachable(ca_bundle, server_ssl_context):
    with TLSFront(('127.0.0.1', free_port()), server_ssl_context) as dead_front:
        response = requests.get(dead_front.url + '/', verify=ca_bundle, timeout=10)
    assert response.status_code == 502


def test_bodiless_responses_keep_the_connection_usable(front, ca_bundle):
    with requests.Session() as session:
        head = session.head(front.url + '/', verify=ca_bundle, timeout=10)
        etag = head.headers['ETag']
        not_modified = session.get(
            front.url + '/', headers={'If-None-Match': etag}, verify=ca_bundle, timeout=10
        )
        assert (head.status_code, not_modified.status_code) == (200, 304)
        get(session, front, '/', ca_bundle)
    assert front.accepted_connections == 1
    assert front.request_count == 3
