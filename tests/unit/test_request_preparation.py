"""The session prepares each SDK call exactly as requests' own Session would, only cheaper."""

from __future__ import annotations

from http.cookiejar import DefaultCookiePolicy
from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core.authenticators import BasicAuthenticator, NoAuthAuthenticator
from ibmcloudant import CloudantV1
from requests import Request

from api.upstream.session import build_session

CALLS = {
    'document': lambda c: c.get_document_as_stream('bench', 'doc-000042'),
    'odd id and rev': lambda c: c.get_document_as_stream('b/x', 'a b/ü%2F?#', rev='1-x'),
    'listing': lambda c: c.post_all_docs_as_stream(
        'bench', limit=101, include_docs=True, start_key='a', end_key='\uffff' * 4
    ),
    'new document': lambda c: c.post_document('bench_writes', {'a': 1}),
    'update': lambda c: c.put_document('db', 'x y', {'a': None}, rev='2-y'),
    'delete': lambda c: c.delete_document('db', 'i', rev='3-z'),
}


class Sent(Exception):
    """Stops the SDK call where it would reach the network."""


def sdk_call(session, authenticator, call) -> dict:
    """The keyword arguments the SDK hands the session's request()."""
    client = CloudantV1(authenticator=authenticator)
    client.set_service_url('https://couch.example:6984/')
    client.set_http_client(session)
    captured = {}

    def request(**kwargs):
        captured.update(kwargs)
        raise Sent

    session.request = request
    try:
        with pytest.raises(Sent):
            call(client)
    finally:
        del session.request
    return captured


def as_requests_prepares(session, kwargs: dict, prepare) -> requests.PreparedRequest:
    # As Session.request builds the Request it prepares.
    return prepare(
        Request(
            method=kwargs['method'],
            url=kwargs['url'],
            headers=kwargs['headers'],
            files=kwargs.get('files') or [],
            data=kwargs.get('data') or {},
            params=kwargs.get('params') or {},
            cookies=kwargs.get('cookies'),
        )
    )


@pytest.mark.parametrize('authenticator', [NoAuthAuthenticator(), BasicAuthenticator('name', 'secret')])
@pytest.mark.parametrize('name', CALLS)
def test_a_call_is_prepared_byte_for_byte_as_requests_would(name, authenticator):
    session = build_session(pool_maxsize=2)
    kwargs = sdk_call(session, authenticator, CALLS[name])
    ours = as_requests_prepares(session, kwargs, session.prepare_request)
    theirs = as_requests_prepares(session, kwargs, lambda r: requests.Session.prepare_request(session, r))
    assert (ours.method, ours.url, list(ours.headers.items()), ours.body, ours.hooks) == (
        theirs.method,
        theirs.url,
        list(theirs.headers.items()),
        theirs.body,
        theirs.hooks,
    )
    assert 'Cookie' not in ours.headers
    settings: list[tuple[Any, ...]] = [
        (ours.url, {}, True, None, None),
        (ours.url, None, False, '/ca.pem', None),
    ]
    for args in settings:
        assert session.merge_environment_settings(*args) == requests.Session.merge_environment_settings(
            session, *args
        )


def test_cookies_auth_or_the_environment_go_requests_own_way():
    session = build_session(pool_maxsize=2)
    session.cookies.set_policy(DefaultCookiePolicy())  # a session that stores cookies, unlike ours
    session.cookies.set('AuthSession', 'abc', domain='couch.example', path='/')
    prepared = session.prepare_request(Request('GET', 'https://couch.example/db'))
    assert prepared.headers['Cookie'] == 'AuthSession=abc'
    authed = session.prepare_request(Request('GET', 'https://couch.example/db', auth=('n', 'p')))
    assert authed.headers['Authorization'].startswith('Basic ')


@pytest.mark.parametrize('name', CALLS)
def test_a_call_prepared_again_from_what_the_worker_remembers_is_the_same(name):
    session = build_session(pool_maxsize=2)
    kwargs = sdk_call(session, BasicAuthenticator('name', 'secret'), CALLS[name])
    first, again = (as_requests_prepares(session, kwargs, session.prepare_request) for _ in range(2))
    theirs = as_requests_prepares(session, kwargs, lambda r: requests.Session.prepare_request(session, r))
    for ours in (first, again):
        assert (ours.url, list(ours.headers.items())) == (theirs.url, list(theirs.headers.items()))


def test_a_header_or_url_requests_refuses_is_refused_every_time():
    session = build_session(pool_maxsize=2)
    for _ in range(2):
        with pytest.raises(requests.exceptions.InvalidHeader):
            session.prepare_request(Request('GET', 'https://couch.example/db', headers={'X': 'a\r\nb'}))
        with pytest.raises(requests.exceptions.InvalidURL):
            session.prepare_request(Request('GET', 'https://couch.example:port/db'))
    session.prepare_request(Request('GET', 'https://couch.example/db', headers={'X': 'ok'}))
    with pytest.raises(requests.exceptions.InvalidHeader):  # a valid value does not vouch for another
        session.prepare_request(Request('GET', 'https://couch.example/db', headers={'X': 'ok\n'}))


def test_headers_merge_as_requests_merges_them_whatever_their_spelling():
    session = build_session(pool_maxsize=2)
    session.headers['X-Dropped'] = 'by the request'
    headers = {'accept-encoding': 'identity', 'X-DROPPED': None, 'Accept': 'a', 'accept': 'b'}
    request = Request('GET', 'https://couch.example/db', headers=headers)
    ours = session.prepare_request(request)
    theirs = requests.Session.prepare_request(session, request)
    assert list(ours.headers.items()) == list(theirs.headers.items())
