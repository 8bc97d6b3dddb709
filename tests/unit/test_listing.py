"""GET /v1/{db}/docs: pages of rows by id, a next link, parameters checked before any upstream call."""

import pytest

from tests.support.problems import assert_problem


def test_list_defaults_to_25_rows_with_next_link(client):
    result = client.simulate_get('/v1/foundbite/docs')
    assert result.status_code == 200
    assert [r['id'] for r in result.json['rows']] == [f'd{i:02d}' for i in range(25)]
    assert result.json['total_rows'] == 30
    assert result.json['next'] == '/v1/foundbite/docs?start_key=d25&limit=25'
    assert result.headers['link'] == '</v1/foundbite/docs?start_key=d25&limit=25>; rel=next'


def test_following_next_reaches_the_last_page_without_next(client):
    last = client.simulate_get('/v1/foundbite/docs?start_key=d25&limit=25')
    assert [r['id'] for r in last.json['rows']] == ['d25', 'd26', 'd27', 'd28', 'd29']
    assert 'next' not in last.json and 'link' not in last.headers


def test_list_passes_keys_docs_and_order(client):
    result = client.simulate_get(
        '/v1/foundbite/docs',
        params={
            'limit': 2,
            'start_key': 'd10',
            'end_key': 'd05',
            'include_docs': 'true',
            'descending': 'true',
        },
    )
    assert [r['id'] for r in result.json['rows']] == ['d10', 'd09']
    assert result.json['rows'][0]['doc']['n'] == 10
    assert result.json['next'] == (
        '/v1/foundbite/docs?start_key=d08&end_key=d05&include_docs=true&descending=true&limit=2'
    )


@pytest.mark.parametrize(
    'query', ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'include_docs=maybe', 'descending=2']
)
def test_list_rejects_bad_parameters_naming_them(client, couch, query):
    result = client.simulate_get('/v1/foundbite/docs', query_string=query)
    body = assert_problem(result, 400, 'invalid-parameter')
    assert query.split('=')[0] in body['detail']
    assert couch.calls == []


@pytest.mark.parametrize('limit', ['1', '1000'])
def test_list_accepts_limit_bounds(client, limit):
    assert client.simulate_get('/v1/foundbite/docs', params={'limit': limit}).status_code == 200
