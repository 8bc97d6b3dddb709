"""Views as code without a server: design/ read and checked at start-up, queries built from parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.capacity.request_classes import classify
from api.config import ConfigError
from api.config.design import load_design
from tests.support.problems import assert_problem

PLACES = '/v1/foundbite/views/places'


@pytest.fixture
def design(tmp_path):
    """design/ of foundbite: places/by_tag (reduces) and places/plain (map only)."""
    (tmp_path / 'foundbite').mkdir()
    views = {
        'by_tag': {'map': 'function (d) { emit(d.tag, 1); }', 'reduce': '_count'},
        'plain': {'map': 'function (d) { emit(d.n); }'},
    }
    (tmp_path / 'foundbite' / 'places.json').write_text(json.dumps({'views': views}))
    return tmp_path


@pytest.fixture
def views(make_client, design):
    return make_client(DESIGN_DIR=str(design))


@pytest.mark.parametrize(
    'params, sent',
    [
        ({}, {}),
        ({'reduce': 'false'}, {'reduce': 'false'}),
        ({'group': 'true'}, {'group': 'true'}),
        ({'group_level': '2'}, {'group_level': '2'}),
        (
            {'key': '["a", 1]', 'reduce': 'false'},
            {'start_key': '["a", 1]', 'end_key': '["a", 1]', 'reduce': 'false'},
        ),
        (
            {'start_key': '"a"', 'start_key_doc_id': 'x/1', 'reduce': 'false', 'include_docs': 'true'},
            {'start_key': '"a"', 'start_key_doc_id': '"x/1"', 'include_docs': 'true', 'reduce': 'false'},
        ),
        ({'end_key': 'null', 'descending': 'true'}, {'end_key': 'null', 'descending': 'true'}),
    ],
)
def test_parameters_go_upstream_as_json_text(views, couch, params, sent):
    answer = views.simulate_get(f'{PLACES}/by_tag', params=params)
    assert answer.status_code == 200, answer.text
    assert couch.view_queries[-1].params == sent


def test_map_rows_page_and_reduced_rows_do_not(views, couch):
    views.simulate_get(f'{PLACES}/plain', params={'limit': '7'})
    views.simulate_get(f'{PLACES}/by_tag')
    views.simulate_post(f'{PLACES}/plain', json={'keys': [1, 'a', None]})
    plain, reduced, keys = couch.view_queries
    assert (plain.limit, plain.paged, plain.params) == (7, True, {})
    assert (reduced.limit, reduced.paged) == (25, False)
    assert (keys.paged, keys.params) == (False, {'keys': '[1, "a", null]'})


def test_a_view_not_in_design_is_404_without_a_call(views, couch):
    for path in ('places/nope', 'other/by_tag', '_design/by_tag'):
        assert_problem(views.simulate_get(f'/v1/foundbite/views/{path}'), 404, 'not-found')
    assert couch.calls == []


@pytest.mark.parametrize(
    'body',
    [{}, {'keys': []}, {'keys': 'a'}, {'keys': [1], 'limit': 2}, {'keys': list(range(1001))}],
)
def test_a_keys_body_is_a_list_of_1_to_1000_keys_and_nothing_else(views, couch, body):
    assert_problem(views.simulate_post(f'{PLACES}/by_tag', json=body), 400, 'invalid-body')
    assert couch.calls == []


def test_keys_go_with_no_other_key_parameter(views, couch):
    answer = views.simulate_post(f'{PLACES}/by_tag', params={'start_key': '1'}, json={'keys': [1]})
    assert '"keys"' in assert_problem(answer, 400, 'invalid-parameter')['detail']


def test_keys_of_a_view_that_reduces_need_group_or_map_rows(views, couch):
    answer = views.simulate_post(f'{PLACES}/by_tag', json={'keys': ['a']})
    assert '"group"' in assert_problem(answer, 400, 'invalid-parameter')['detail']
    assert couch.calls == []
    for params in ({'group': 'true'}, {'reduce': 'false'}, {'group_level': '1'}):
        assert views.simulate_post(f'{PLACES}/by_tag', params=params, json={'keys': ['a']}).status_code == 200


def test_the_openapi_document_names_the_views(views):
    document = views.simulate_get('/openapi.json').json
    schemas = document['components']['schemas']
    assert schemas['Views']['properties'] == {
        'foundbite': {'type': 'string', 'enum': ['places/by_tag', 'places/plain']}
    }
    assert schemas['ViewName']['enum'] == ['by_tag', 'plain']
    assert schemas['DesignDocumentName']['enum'] == ['places']


@pytest.mark.parametrize(
    'files, error',
    [
        ({'places.json': '{"views": {"v": {"map": 1}}}'}, 'view "v" needs "map"'),
        ({'places.json': '{"_id": "_design/places"}'}, 'without "_id"'),
        ({'places.json': '{"views": '}, 'not readable JSON'),
        ({'_x.json': '{}'}, 'a design document name'),
        ({'indexes.json': '[{"index": {"fields": []}, "name": "a", "ddoc": "i"}]'}, 'needs "index"'),
        ({'indexes.json': '[{"index": {"fields": ["n"]}, "name": "a"}]'}, 'needs "ddoc"'),
        (
            {
                'places.json': '{}',
                'indexes.json': '[{"index": {"fields": ["n"]}, "name": "a", "ddoc": "places"}]',
            },
            'also a view design document',
        ),
    ],
)
def test_a_bad_design_file_is_a_configuration_error_naming_the_file(tmp_path, files, error):
    (tmp_path / 'foundbite').mkdir()
    for name, text in files.items():
        (tmp_path / 'foundbite' / name).write_text(text)
    with pytest.raises(ConfigError, match=error) as raised:
        load_design(tmp_path, ('foundbite',))
    assert str(tmp_path / 'foundbite') in str(raised.value)


def test_only_databases_of_the_allowlist_are_read(design):
    (design / 'orders').mkdir()
    (design / 'orders' / 'broken.json').write_text('not json')
    assert load_design(design, ('foundbite',)).views('foundbite') == {
        'places': {'by_tag': True, 'plain': False}
    }
    assert load_design(design / 'missing', ('foundbite',)).documents == {}


def test_the_repository_design_gives_the_demo_a_reducing_view_and_a_sort_index():
    demo = load_design(Path(__file__).resolve().parents[2] / 'design', ('foundbite',))
    assert demo.has_reduce('foundbite', 'places', 'by_tag') is True
    assert {tuple(i['index']['fields']) for i in demo.indexes['foundbite']} >= {('rating',)}


def test_a_view_query_spends_one_global_query_of_the_capacity_guard():
    assert classify('POST', 'https://acct.cloudant.com/foundbite/_design/places/_view/by_tag', b'{}') == (
        'queries',
        1,
    )
