"""POST /v1/{db}/find: a Mango query, checked field by field before it goes upstream."""

import pytest

from tests.support.problems import assert_problem


def test_find_returns_docs_and_bookmark(client):
    result = client.simulate_post('/v1/foundbite/find', json={'selector': {'n': 3}, 'limit': 5})
    assert result.status_code == 200
    assert result.json == {'docs': [{'_id': 'd03', '_rev': '1-fake', 'n': 3}], 'bookmark': 'nil'}


@pytest.mark.parametrize(
    'body, field',
    [
        ({}, 'selector'),
        ({'selector': 'x'}, 'selector'),
        ({'selector': {}, 'limit': 1001}, 'limit'),
        ({'selector': {}, 'limit': 0}, 'limit'),
        ({'selector': {}, 'limit': True}, 'limit'),
        ({'selector': {}, 'fields': 'a'}, 'fields'),
        ({'selector': {}, 'sort': {}}, 'sort'),
        ({'selector': {}, 'bookmark': 1}, 'bookmark'),
        ({'selector': {}, 'skip': 1}, 'skip'),
    ],
)
def test_find_validates_the_query_naming_the_field(client, couch, body, field):
    result = client.simulate_post('/v1/foundbite/find', json=body)
    problem = assert_problem(result, 400, 'invalid-query')
    assert f'"{field}"' in problem['detail']
    assert couch.calls == []


def test_find_maps_upstream_bad_query_to_400(client):
    assert_problem(
        client.simulate_post('/v1/foundbite/find', json={'selector': {'$bad': 1}}), 400, 'bad-request'
    )
