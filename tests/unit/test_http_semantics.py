"""HEAD, OPTIONS and Allow on every route; listings revalidate with a strong ETag; a linter stays quiet."""

from __future__ import annotations

import pytest
from falcon import inspect

from tests.support.fakes import FakeCouch, fake_app
from tests.support.http_lint import lint
from tests.support.request_log import export_lines, request_lines

# A concrete path for every route template (a new route fails test_every_route_has_a_path).
PATHS = {
    '/healthz': '/healthz',
    '/readyz': '/readyz',
    '/docs': '/docs',
    '/docs/assets/{name}': '/docs/assets/swagger-ui.css',
    '/metrics': '/metrics',
    '/v1/{db}/docs': '/v1/foundbite/docs?include_docs=true',
    '/v1/{db}/docs/{doc_id:path}': '/v1/foundbite/docs/d01',
    '/v1/{db}/find': '/v1/foundbite/find',
    '/v1/{db}/bulk': '/v1/foundbite/bulk',
    '/v1/{db}/lookup': '/v1/foundbite/lookup',
    '/v1/{db}/export': '/v1/foundbite/export',
    '/v1/{db}/changes': '/v1/foundbite/changes',
    '/v1/{db}/views/{ddoc}/{view}': '/v1/foundbite/views/places/by_tag',
    '/openapi.json': '/openapi.json',
    '/problems': '/problems',
    '/problems/{name}': '/problems/not-found',
    '/sync': '/sync',
    '/sync/': '/sync/',
    '/sync/{db}': '/sync/foundbite',
    '/sync/{db}/': '/sync/foundbite/',
    '/sync/{db}/_local/{name}': '/sync/foundbite/_local/checkpoint',
    '/sync/{db}/_changes': '/sync/foundbite/_changes',
    '/sync/{db}/_revs_diff': '/sync/foundbite/_revs_diff',
    '/sync/{db}/_bulk_get': '/sync/foundbite/_bulk_get',
    '/sync/{db}/_bulk_docs': '/sync/foundbite/_bulk_docs',
    '/sync/{db}/_all_docs': '/sync/foundbite/_all_docs',
    '/sync/{db}/{rest:path}': '/sync/foundbite/d01',
}
# GETs that answer 404 on the fake's data (no checkpoint is stored): HEAD is checked where GET is 200.
MISSING = {'/sync/{db}/_local/{name}'}
# Differ from one request to the next whatever the method.
PER_REQUEST = {'x-request-id', 'server-timing'}


ROUTES = {
    route.path: {m.method for m in route.methods if not m.internal}
    for route in inspect.inspect_routes(fake_app(FakeCouch('foundbite'), CLOUDANT_DATABASES='foundbite'))
}
GET_PATHS = [PATHS[path] for path, methods in ROUTES.items() if 'GET' in methods and path not in MISSING]


def test_every_route_has_a_path():
    assert set(ROUTES) == set(PATHS)


@pytest.mark.parametrize('path', GET_PATHS)
def test_head_answers_what_get_answers_without_a_body(client, path):
    get, head = client.simulate_get(path), client.simulate_head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b''
    # The metrics grow with each request, so their length may differ; everything else must not.
    varies = PER_REQUEST | ({'content-length'} if path == '/metrics' else set())
    assert {k: v for k, v in head.headers.items() if k not in varies} == {
        k: v for k, v in get.headers.items() if k not in varies
    }
    assert set(head.headers) == set(get.headers)


def test_a_head_of_the_export_closes_its_paging_unread(client, caplog):
    caplog.set_level('INFO')
    assert client.simulate_head('/v1/foundbite/export').status_code == 200
    export = export_lines(caplog)
    assert len(export) == 1 and export[0]['complete'] is False and export[0]['documents'] == 0
    assert [line['method'] for line in request_lines(caplog) if 'method' in line] == ['HEAD']


@pytest.mark.parametrize('template', sorted(PATHS))
def test_options_is_204_with_the_allow_of_the_routes_405(client, template):
    path = PATHS[template]
    options = client.simulate_options(path)
    assert options.status_code == 204 and options.content == b''
    assert not {'content-type', 'content-length', 'vary'} & set(options.headers)
    refused = client.simulate_request('PATCH', path, json={})
    assert refused.status_code == 405
    assert options.headers['allow'] == refused.headers['allow']
    expected = set(ROUTES[template]) | {'OPTIONS'} | ({'HEAD'} if 'GET' in ROUTES[template] else set())
    assert set(options.headers['allow'].split(', ')) == expected


def test_head_where_there_is_no_get_is_405_with_the_same_allow(client):
    refused = client.simulate_head('/v1/foundbite/find')
    assert refused.status_code == 405 and refused.headers['allow'] == 'POST, OPTIONS'


def test_a_listing_carries_a_strong_etag_and_revalidates_to_304(make_client, couch):
    client = make_client(API_KEYS='')  # anonymous: no-cache, not no-store
    first = client.simulate_get('/v1/foundbite/docs')
    tag = first.headers['etag']
    assert first.status_code == 200 and tag.startswith('"') and first.headers['cache-control'] == 'no-cache'
    again = client.simulate_get('/v1/foundbite/docs', headers={'If-None-Match': tag})
    assert again.status_code == 304 and again.content == b'' and again.headers['etag'] == tag
    couch.dbs['foundbite']['d00']['_rev'] = '2-fake'
    changed = client.simulate_get('/v1/foundbite/docs', headers={'If-None-Match': tag})
    assert changed.status_code == 200 and changed.headers['etag'] != tag


@pytest.mark.parametrize(
    'path',
    [
        '/v1/foundbite/docs?limit=30&include_docs=true',
        '/v1/foundbite/docs/d01',
        '/openapi.json',
        '/docs',
        '/docs/assets/init.js',
        '/docs/assets/swagger-ui.css',
        '/docs/assets/swagger-ui-bundle.js',
    ],
)
@pytest.mark.parametrize('accept', [{}, {'Accept-Encoding': 'gzip'}])
def test_an_http_linter_finds_nothing_to_warn_about(make_client, path, accept):
    client = make_client(API_KEYS='')  # anonymous: the answers caches may keep
    result = client.simulate_get(path, headers=accept)
    assert result.status_code == 200
    assert lint(result, 'GET', path, accept) == []


def test_the_docs_page_allows_no_inline_style(client):
    policy = client.simulate_get('/docs').headers['content-security-policy']
    assert "style-src 'self';" in policy and 'unsafe-inline' not in policy
