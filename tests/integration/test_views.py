"""Views of design/ against the real server: deployed by the release code, served by the real app.

Rows are compared with the server's own answer to the same query (asked directly, not through
the app); paging is walked through `next` to the end; requests that must not go upstream are
counted at the TLS front.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from ibmcloudant import CloudantV1

from api.config import Settings
from api.config.design import load_design
from api.release import release
from container import build_injector
from tests.support.problems import assert_problem
from tests.support.scoped_keys import SECRETS, api_keys

TAGS = {
    'map': 'function (doc) { doc.tags.forEach(function (t) { emit(t, doc.n); }); }',  # throws without tags
    'reduce': '_sum',
}
PAIRS = {'map': 'function (doc) { if (doc.pair) { emit(doc.pair, null); } }', 'reduce': '_count'}
PLAIN = {'map': 'function (doc) { if (typeof doc.n === "number") { emit(doc.n % 7, doc.n); } }'}


@pytest.fixture
def deploy(db, tmp_path, pouch, couch_admin, make_client):
    """deploy(docs, **views) -> the app over `db`, its design/ holding `views` as ddoc `t`, deployed."""

    def make(docs: list[dict], **views: dict):
        (tmp_path / db).mkdir(exist_ok=True)
        (tmp_path / db / 't.json').write_text(json.dumps({'views': views}))
        assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
        settings = Settings.from_env({'CLOUDANT_URL': pouch.url, 'CLOUDANT_DATABASES': db})
        design = load_design(tmp_path, (db,))
        release(build_injector(settings).get(CloudantV1), pouch.url, (db,), say=lambda _: None, design=design)
        return make_client(DESIGN_DIR=str(tmp_path))

    return make


def upstream(couch_admin, db: str, view: str, **params) -> list[dict]:
    """The server's own rows for the query, asked directly."""
    query = {k: json.dumps(v) for k, v in params.items()}
    response = couch_admin.get(f'{db}/_design/t/_view/{view}', params=query)
    assert response.status_code == 200, response.text
    return response.json()['rows']


def bites(count: int) -> list[dict]:
    return [
        {'_id': f'b{i:04d}', 'n': i, 'tags': ['odd' if i % 2 else 'even', f't{i % 3}']} for i in range(count)
    ]


def test_map_reduce_group_and_group_level_rows_are_the_servers_own(deploy, couch_admin, db):
    docs = [*bites(30), *({'_id': f'p{i:02d}', 'pair': [f'k{i % 3}', i % 2, i]} for i in range(20))]
    client = deploy(docs, tags=TAGS, pairs=PAIRS)
    cases: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ('tags', {}, {}),
        ('tags', {'reduce': 'false', 'limit': '1000'}, {'reduce': False}),
        ('tags', {'group': 'true'}, {'group': True}),
        ('tags', {'reduce': 'false', 'key': '"odd"', 'limit': '1000'}, {'reduce': False, 'key': 'odd'}),
        ('pairs', {'group_level': '1'}, {'group_level': 1}),
        ('pairs', {'group_level': '2', 'descending': 'true'}, {'group_level': 2, 'descending': True}),
        (
            'pairs',
            {'group': 'true', 'start_key': '["k1"]', 'end_key': '["k2"]'},
            {'group': True, 'start_key': ['k1'], 'end_key': ['k2']},
        ),
    ]
    for view, ours, theirs in cases:
        answer = client.simulate_get(f'/v1/{db}/views/t/{view}', params=ours)
        assert answer.status_code == 200, answer.text
        assert answer.json['rows'] == upstream(couch_admin, db, view, **theirs), (view, ours)
        assert 'next' not in answer.json
    keys = client.simulate_post(
        f'/v1/{db}/views/t/tags', params={'reduce': 'false'}, json={'keys': ['t2', 't0']}
    )
    assert keys.json['rows'] == upstream(couch_admin, db, 'tags', reduce=False, key='t2') + upstream(
        couch_admin, db, 'tags', reduce=False, key='t0'
    )


@pytest.mark.parametrize('descending', [False, True])
def test_paging_over_2000_rows_with_duplicate_keys_loses_and_repeats_nothing(
    deploy, couch_admin, db, descending
):
    client = deploy([{'_id': f'd{(i * 7919) % 2000:04d}', 'n': i} for i in range(2000)], plain=PLAIN)
    expected = [(r['key'], r['id']) for r in upstream(couch_admin, db, 'plain', descending=descending)]
    assert len(expected) == 2000 and len({k for k, _ in expected}) == 7  # ~286 rows share each key
    seen, path, params, pages = [], f'/v1/{db}/views/t/plain', {'limit': '97'}, 0
    if descending:
        params['descending'] = 'true'
    while True:
        page = client.simulate_get(path, params=params)
        assert page.status_code == 200, page.text
        seen += [(r['key'], r['id']) for r in page.json['rows']]
        pages += 1
        if 'next' not in page.json:
            break
        assert page.headers['link'] == f'<{page.json["next"]}>; rel=next'
        path, query = page.json['next'].split('?')
        params = dict(parse_qsl(query))
    assert seen == expected
    assert pages == 21  # 20 full pages of 97 and the last of 60


def test_an_unknown_view_is_404_without_any_upstream_request(deploy, couch_admin, db, front):
    client = deploy(bites(3), tags=TAGS)
    # A design document someone else put in the database: it exists upstream, yet is not design/'s.
    couch_admin.put(f'{db}/_design/theirs', json={'views': {'all': {'map': 'function (d) { emit(1); }'}}})
    front.reset()
    for path in ('t/nope', 'theirs/all', 'nope/tags', '_design/tags'):
        assert_problem(client.simulate_get(f'/v1/{db}/views/{path}'), 404, 'not-found')
        assert_problem(client.simulate_post(f'/v1/{db}/views/{path}', json={'keys': [1]}), 404, 'not-found')
    assert front.request_count == 0


@pytest.mark.parametrize(
    'params, view, name',
    [
        ({'key': 'odd'}, 'tags', 'key'),  # not JSON: the quotes are missing
        ({'start_key': '[1,'}, 'tags', 'start_key'),
        ({'end_key': 'NaN'}, 'tags', 'end_key'),
        ({'group': 'true', 'reduce': 'false'}, 'tags', 'group'),
        ({'group_level': '1', 'reduce': 'false'}, 'tags', 'group_level'),
        ({'group': 'true'}, 'plain', 'group'),  # no reduce function
        ({'reduce': 'true'}, 'plain', 'reduce'),
        ({'include_docs': 'true'}, 'tags', 'include_docs'),  # reduced rows
        ({'limit': '0'}, 'tags', 'limit'),
        ({'limit': '1001'}, 'tags', 'limit'),
        ({'limit': 'ten'}, 'tags', 'limit'),
        ({'descending': 'yes'}, 'tags', 'descending'),
        ({'start_key_doc_id': 'b1', 'reduce': 'false'}, 'tags', 'start_key_doc_id'),  # without start_key
        ({'key': '"a"', 'start_key': '"a"', 'reduce': 'false'}, 'tags', 'key'),
        ({'startkey': '"a"'}, 'tags', 'startkey'),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(deploy, db, front, params, view, name):
    client = deploy(bites(2), tags=TAGS, plain=PLAIN)
    front.reset()
    problem = assert_problem(
        client.simulate_get(f'/v1/{db}/views/t/{view}', params=params), 400, 'invalid-parameter'
    )
    assert f'"{name}"' in problem['detail'], problem
    assert front.request_count == 0


def test_a_map_function_that_throws_on_some_documents_still_answers(deploy, db):
    client = deploy(
        [*bites(4), {'_id': 'no-tags', 'n': 9}, {'_id': 'bad-tags', 'tags': 'x', 'n': 8}], tags=TAGS
    )
    answer = client.simulate_get(f'/v1/{db}/views/t/tags', params={'reduce': 'false'})
    assert answer.status_code == 200, answer.text
    assert sorted({r['id'] for r in answer.json['rows']}) == ['b0000', 'b0001', 'b0002', 'b0003']


def test_include_docs_passes_stored_documents_through_byte_for_byte(deploy, couch_admin, db):
    client = deploy(bites(1), tags=TAGS)
    deep = '[' * 600 + ']' * 600  # beyond orjson's recursion limit (pouchdb's views skip deeper ones)
    raw = '{"_id":"h","n":1,"tags":["x"],"lone":"\\ud800","deep":' + deep + '}'
    assert couch_admin.post(db, data=raw, headers={'Content-Type': 'application/json'}).status_code == 201
    answer = client.simulate_get(
        f'/v1/{db}/views/t/tags', params={'reduce': 'false', 'include_docs': 'true', 'key': '"x"'}
    )
    assert answer.status_code == 200, answer.text
    assert '"lone":"\\ud800"' in answer.text and f'"deep":{deep}' in answer.text


def test_a_key_limited_to_an_id_prefix_gets_403_for_views(deploy, db, make_db, make_client, tmp_path):
    deploy(bites(2), tags=TAGS)
    other = make_db()
    client = make_client(db, other, DESIGN_DIR=str(tmp_path), API_KEYS=api_keys(db, other))
    tenant = {'Authorization': f'Bearer {SECRETS["tenant"]}'}
    assert_problem(client.simulate_get(f'/v1/{db}/views/t/tags', headers=tenant), 403, 'view-outside-scope')
    querier = {'Authorization': f'Bearer {SECRETS["querier"]}'}
    assert client.simulate_get(f'/v1/{db}/views/t/tags', headers=querier).status_code == 200
    reader = {'Authorization': f'Bearer {SECRETS["reader"]}'}
    assert_problem(client.simulate_get(f'/v1/{db}/views/t/tags', headers=reader), 403, 'insufficient-scope')


def test_reduced_rows_beyond_the_limit_say_they_were_cut(deploy, db, couch_admin):
    client = deploy(bites(30), tags=TAGS)
    answer = client.simulate_get(f'/v1/{db}/views/t/tags', params={'group': 'true', 'limit': '2'})
    assert answer.json == {'rows': upstream(couch_admin, db, 'tags', group=True)[:2], 'truncated': True}


# --- Listings and exports never show design documents -----------------------------------------


@pytest.mark.parametrize('limit', [1, 2, 3])
@pytest.mark.parametrize('descending', [False, True])
def test_listings_skip_design_documents_without_spending_the_limit(
    make_client, couch_admin, db, limit, descending
):
    # "_" sorts between upper and lower case: the design documents sit in the middle of the ids.
    ids = ['A1', 'A2', 'a1', 'a2', 'b1']
    docs = [{'_id': i} for i in ids] + [{'_id': f'_design/d{i}', 'views': {}} for i in range(4)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    client = make_client()
    pages, url = [], f'/v1/{db}/docs?limit={limit}' + ('&descending=true' if descending else '')
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200, page.text
        pages.append([row['id'] for row in page.json['rows']])
        url = page.json.get('next')
    assert [i for page in pages for i in page] == sorted(ids, reverse=descending)
    assert all(len(page) == limit for page in pages[:-1]) and 1 <= len(pages[-1]) <= limit


def test_exports_skip_design_documents(make_client, couch_admin, db):
    docs = [{'_id': i} for i in ('A1', 'A2', 'a1', 'a2')] + [{'_id': f'_design/d{i}'} for i in range(5)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    exported = make_client(EXPORT_BATCH_SIZE='2').simulate_get(f'/v1/{db}/export')
    assert exported.status_code == 200
    assert [json.loads(line)['_id'] for line in exported.text.splitlines()] == ['A1', 'A2', 'a1', 'a2']


@pytest.mark.app_env(API_MAX_PAGE_BYTES='1024')
def test_a_page_of_documents_ends_at_the_byte_budget_and_next_goes_on(deploy, db, couch_admin):
    docs = [{'_id': f'w{i:02d}', 'n': i, 'tags': ['same'], 'pad': 'x' * 300} for i in range(12)]
    docs[5]['pad'] = 'y' * 5000  # alone over the budget: a page of its own
    client = deploy(docs, tags=TAGS)
    pages, params = [], {'reduce': 'false', 'include_docs': 'true', 'key': '"same"', 'limit': '1000'}
    path = f'/v1/{db}/views/t/tags'
    while True:
        page = client.simulate_get(path, params=params)
        assert page.status_code == 200, page.text
        pages.append([row['id'] for row in page.json['rows']])
        if 'next' not in page.json:
            break
        path, query = page.json['next'].split('?')
        params = dict(parse_qsl(query))
    assert [i for page in pages for i in page] == [d['_id'] for d in docs]
    assert ['w05'] in pages and all(1 <= len(page) <= 3 for page in pages)  # 3 small rows fit in 1 KiB
