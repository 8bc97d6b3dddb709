"""Which routes need no key: one attribute (`public`) decides it for the key check and for the
OpenAPI document's `security`, so the two cannot disagree."""

from __future__ import annotations

import re

import pytest
from falcon import testing

from api.app import create_app, routes
from api.config import Settings
from api.edge.keys import is_public
from container import build_injector
from tests.support.api_keys import TEST_KEYS
from tests.support.fakes import FakeCouchModule

# Reads need a key here, so every route that is not public answers 401 to a stranger.
pytestmark = pytest.mark.app_env(API_REQUIRE_KEY_FOR_READS='1', API_KEYS=TEST_KEYS)
SAMPLE = {
    'db': 'foundbite',
    'doc_id': 'd01',
    'name': 'swagger-ui.css',
    'ddoc': 'places',
    'view': 'by_tag',
    'rest': 'd01',
}


def concrete(template: str) -> str:
    return re.sub(r'\{(\w+)(?::\w+)?\}', lambda m: SAMPLE[m.group(1)], template)


def test_the_openapi_document_and_the_key_check_agree_on_every_operation(client):
    document = client.simulate_get('/openapi.json').json
    checked = 0
    for path, item in document['paths'].items():
        for method, operation in item.items():
            if method == 'parameters':
                continue
            answer = client.simulate_request(method.upper(), concrete(path), json={'x': 1})
            assert (answer.status_code == 401) is (operation['security'] != []), (method, path)
            checked += 1
    assert checked >= 10


def test_metrics_is_a_read_and_health_and_docs_are_public(client):
    paths = client.simulate_get('/openapi.json').json['paths']
    security = {path: item['get']['security'] for path, item in paths.items() if 'get' in item}
    assert security['/healthz'] == security['/docs'] == security['/openapi.json'] == []
    assert security['/metrics'] == [{'apiKey': ['read']}]
    assert client.simulate_get('/metrics').status_code == 401
    assert client.simulate_get('/healthz').status_code == 200


def test_the_openapi_document_names_exactly_the_public_routes(couch):
    injector = build_injector(Settings.from_env({'CLOUDANT_DATABASES': 'foundbite'}), FakeCouchModule(couch))
    public = {re.sub(r':\w+', '', path) for path, resource in routes(injector).items() if is_public(resource)}
    public.add('/openapi.json')  # added by create_app, public too
    document = testing.TestClient(create_app(injector)).simulate_get('/openapi.json').json
    documented = {
        path
        for path, item in document['paths'].items()
        if all(op['security'] == [] for m, op in item.items() if m != 'parameters')
    }
    assert documented == public
