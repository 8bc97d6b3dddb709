"""The OpenAPI document and the router describe the same API; the docs page needs no network."""

from __future__ import annotations

import re

import falcon
import jsonschema_rs
import pytest
import schemathesis
from falcon import inspect

from api.edge.openapi import DOC_ID_PATTERN
from tests.support.problems import assert_problem

METHODS = ('get', 'put', 'post', 'delete', 'patch', 'head')
pytestmark = pytest.mark.app_env(CLOUDANT_DATABASES='foundbite,orders', API_KEYS='')


def routed_operations(app: falcon.App) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every responder the router reaches; Falcon's defaults left out."""
    return {
        (re.sub(r'\{(\w+)(:\w+)?\}', r'{\1}', route.path), method.method.lower())
        for route in inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal and method.method.lower() in METHODS
    }


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(path, m) for path, item in document['paths'].items() for m in METHODS if m in item}


def test_every_route_is_documented_and_every_documented_operation_is_routed(client):
    document = client.simulate_get('/openapi.json').json
    routed = routed_operations(client.app)
    assert routed == documented_operations(document)
    assert ('/v1/{db}/docs/{doc_id}', 'delete') in routed and ('/v1/{db}/find', 'post') in routed


def test_the_route_check_notices_an_undocumented_route(client):
    class Extra:
        def on_get(self, req, resp):
            pass

    client.app.add_route('/v1/{db}/secret', Extra())
    document = client.simulate_get('/openapi.json').json
    assert routed_operations(client.app) - documented_operations(document) == {('/v1/{db}/secret', 'get')}


def test_the_document_is_valid_openapi_3_1_with_valid_schemas(client):
    document = client.simulate_get('/openapi.json').json
    assert document['openapi'] == '3.1.0'
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema
    for schema in document['components']['schemas'].values():
        jsonschema_rs.validator_for(dict(schema, components=document['components']))  # compiles, regexes too
    # Every operation can succeed, but those that exist to refuse: POST of a /sync path (_find,
    # _index, ... are never passed on), and PUT of a /sync database (never created).
    refusals = {'postSyncDocument', 'putSyncDatabase', 'putSyncDatabaseSlash'}
    operations = [
        item[m]
        for item in document['paths'].values()
        for m in METHODS
        if m in item and item[m]['operationId'] not in refusals
    ]
    assert all(
        '200' in op['responses'] or '201' in op['responses'] or '204' in op['responses'] for op in operations
    )


def test_the_document_lists_the_allowlist_and_the_key_policy(make_client):
    public = make_client().simulate_get('/openapi.json').json
    locked = (
        make_client(API_KEYS='ci:abcdefghijklmnop0123', API_REQUIRE_KEY_FOR_READS='1')
        .simulate_get('/openapi.json')
        .json
    )
    listing = '/v1/{db}/docs'
    assert public['paths'][listing]['parameters'][0]['schema'] == {'$ref': '#/components/schemas/Database'}
    assert public['components']['schemas']['Database']['enum'] == ['foundbite', 'orders']
    assert public['paths'][listing]['get']['security'] == [{}, {'apiKey': ['read']}]
    assert locked['paths'][listing]['get']['security'] == [{'apiKey': ['read']}]
    assert public['paths'][listing]['post']['security'] == [{'apiKey': ['write']}]
    assert public['paths']['/healthz']['get']['security'] == []


@pytest.mark.parametrize(
    'doc_id, accepted',
    [
        ('a', True),
        ('a/b', True),
        ('..%2F', True),
        ('...', True),
        ('.a', True),
        ('é', True),
        ('_design/x', False),
        ('.', False),
        ('..', False),
        ('a\nb', False),
        ('', False),
    ],
)
def test_the_documented_id_pattern_matches_what_the_api_accepts(doc_id, accepted):
    assert bool(re.search(DOC_ID_PATTERN, doc_id)) is accepted


def test_the_docs_page_is_served_from_the_installed_package_without_a_cdn(client):
    page = client.simulate_get('/docs')
    assert page.status_code == 200 and page.headers['content-type'].startswith('text/html')
    assert not re.search(r'(https?:)?//', page.text), 'the page must not load anything from elsewhere'
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {'/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css'} <= set(assets)
    for asset in assets:
        result = client.simulate_get(asset)
        assert result.status_code == 200, asset
    bundle = client.simulate_get('/docs/assets/swagger-ui-bundle.js')
    assert len(bundle.content) > 500_000 and b'SwaggerUIBundle' in bundle.content
    assert b"url: '/openapi.json'" in client.simulate_get('/docs/assets/init.js').content
    assert "script-src 'self'" in page.headers['content-security-policy']


@pytest.mark.parametrize('name', ['../../__init__.py', '..%2F..%2Futils.py', 'swagger-editor.js', 'LICENSE'])
def test_only_the_named_assets_are_served(client, name):
    assert_problem(client.simulate_get(f'/docs/assets/{name}'), 404, 'not-found')
