"""The OpenAPI document says exactly what the API accepts, and its links and servers are usable."""

from __future__ import annotations

import jsonschema_rs
import pytest

SCHEMAS = '#/components/schemas/'


def validator(document: dict, name: str):
    return jsonschema_rs.validator_for({'$ref': SCHEMAS + name, 'components': document['components']})


@pytest.mark.parametrize(
    'method, path, body, if_match',
    [
        ('put', '/v1/foundbite/docs/d01', {'n': 1}, '"1-fake"'),
        ('put', '/v1/foundbite/docs/d01', {'_id': 'd01', '_rev': '1-fake', 'n': 1}, '"1-fake"'),
        ('put', '/v1/foundbite/docs/new', {'_id': 'new', 'deep': {'_x': [1, {'y': None}]}}, None),
        ('put', '/v1/foundbite/docs/d01', {'_deleted': True}, '"1-fake"'),
        ('put', '/v1/foundbite/docs/d01', {'n': 2**53}, '"1-fake"'),
        ('put', '/v1/foundbite/docs/d01', {'n': [{'m': -(2**53)}]}, '"1-fake"'),
        ('put', '/v1/foundbite/docs/d01', {'_id': '_design/x'}, '"1-fake"'),
        ('put', '/v1/foundbite/docs/d01', {'_rev': 'stale'}, '"1-fake"'),
        ('post', '/v1/foundbite/docs', {'_id': 'fresh', 'n': 1}, None),
        ('post', '/v1/foundbite/docs', {'n': 1.5, 'tags': ['a'], 'nested': {'k': 'v'}}, None),
        ('post', '/v1/foundbite/docs', {'_id': 'fresh', '_rev': '1-fake'}, None),
        ('post', '/v1/foundbite/docs', {'_attachments': {}}, None),
        ('post', '/v1/foundbite/find', {'selector': {'n': {'$gt': 1}}, 'sort': ['n', {'m': 'desc'}]}, None),
        ('post', '/v1/foundbite/find', {'selector': {}, 'limit': 0}, None),
        ('post', '/v1/foundbite/find', {'selector': {}, 'skip': 1}, None),
        ('post', '/v1/foundbite/find', {'selector': []}, None),
    ],
)
def test_a_body_the_schema_allows_is_one_the_api_accepts_and_the_other_way_round(
    client, method, path, body, if_match
):
    document = client.simulate_get('/openapi.json').json
    template = '/v1/{db}/docs/{doc_id}' if path.count('/') == 4 else path.replace('foundbite', '{db}')
    schema = document['paths'][template][method]['requestBody']['content']['application/json']['schema']
    allowed = validator(document, schema['$ref'].removeprefix(SCHEMAS)).is_valid(body)
    headers = {'If-Match': if_match} if if_match else {}
    answer = client.simulate_request(method.upper(), path, json=body, headers=headers)
    assert answer.status_code < 400 if allowed else answer.status_code == 400, (allowed, answer.text)


def test_every_link_names_an_operation_and_its_parameters(client):
    document = client.simulate_get('/openapi.json').json
    operations = {
        op['operationId']: (item.get('parameters', []) + op.get('parameters', []))
        for item in document['paths'].values()
        for method, op in item.items()
        if method != 'parameters'
    }
    links = [
        link
        for item in document['paths'].values()
        for method, op in item.items()
        if method != 'parameters'
        for response in op['responses'].values()
        for link in response.get('links', {}).values()
    ]
    assert len(links) >= 10
    for link in links:
        names = {
            f'header.{p["name"]}' if p['in'] == 'header' else p['name']
            for p in operations[link['operationId']]
        }
        assert set(link['parameters']) <= names, link


def test_etags_lead_to_if_match_and_the_document_names_its_server(client):
    document = client.simulate_get('/openapi.json').json
    written = document['paths']['/v1/{db}/docs']['post']['responses']['201']['links']
    assert written['update']['parameters']['header.If-Match'] == '$response.header.ETag'
    assert written['delete']['operationId'] == 'deleteDocument'
    assert document['servers'] == [{'url': '/', 'description': 'The server that serves this document'}]
    export = document['paths']['/v1/{db}/export']['get']['responses']['200']['content']
    assert list(export) == ['application/x-ndjson', 'application/octet-stream']
