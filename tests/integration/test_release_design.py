"""The release phase deploys design/ to the real server (behind the counting TLS front): created,
then nothing changed; a changed map function redeployed; what it does not own left alone."""

from __future__ import annotations

import json

import pytest
from ibmcloudant import CloudantV1

from api.config.design import Design
from api.release import release
from container import build_injector
from tests.support.app_client import app_settings

BY_TAG = {
    'map': 'function (doc) { (doc.tags || []).forEach(function (t) { emit(t, 1); }); }',
    'reduce': '_count',
}
BY_N = {'map': 'function (doc) { emit(doc.n, null); }'}
INDEXES = [{'index': {'fields': ['n']}, 'name': 'by_n', 'ddoc': 'find-indexes', 'type': 'json'}]


@pytest.fixture
def design_dir(tmp_path, db):
    """design/ of `db`: places (by_tag, by_n) and one Mango index."""
    (tmp_path / db).mkdir()
    write(tmp_path, db, 'places', {'views': {'by_tag': BY_TAG, 'by_n': BY_N}})
    (tmp_path / db / 'indexes.json').write_text(json.dumps(INDEXES))
    return tmp_path


def write(root, db: str, ddoc: str, content: dict) -> None:
    (root / db / f'{ddoc}.json').write_text(json.dumps(content, indent=2))


@pytest.fixture
def run_release(front, ca_bundle, db, design_dir):
    """run_release() -> the lines it printed; through the front, as the release phase would run."""

    def run() -> list[str]:
        injector = build_injector(app_settings(front, ca_bundle, db, DESIGN_DIR=str(design_dir)))
        lines: list[str] = []
        release(injector.get(CloudantV1), front.url, (db,), say=lines.append, design=injector.get(Design))
        return lines

    return run


def test_a_first_release_deploys_and_a_second_changes_nothing(run_release, front, couch_admin, db):
    first = run_release()
    assert first == [
        f'release: database {db} at {front.url} exists',
        f'release: {db}/_design/places created (views: by_n, by_tag)',
        f'release: {db}/_design/find-indexes index by_n created (fields: n)',
        'release: design: 2 changed, 0 unchanged',
        'release: done, 0 created, 1 already there',
    ]
    places = couch_admin.get(f'{db}/_design/places').json()
    assert places['views'] == {'by_tag': BY_TAG, 'by_n': BY_N}
    seq = couch_admin.get(db).json()['update_seq']
    front.reset()
    second = run_release()
    assert second == [
        f'release: database {db} at {front.url} exists',
        'release: design: nothing changed, 2 unchanged (as in design/)',
        'release: done, 0 created, 1 already there',
    ]
    assert {r.method for r in front.requests} == {'GET'}  # looked, wrote nothing
    assert couch_admin.get(db).json()['update_seq'] == seq


def test_a_changed_map_function_is_redeployed_on_the_current_rev(run_release, couch_admin, db, design_dir):
    run_release()
    rev = couch_admin.get(f'{db}/_design/places').json()['_rev']
    changed = dict(BY_N, map='function (doc) { emit(-doc.n, null); }')
    write(design_dir, db, 'places', {'views': {'by_tag': BY_TAG, 'by_n': changed}})
    lines = run_release()
    assert f'release: {db}/_design/places updated (views: by_n)' in lines
    assert 'release: design: 1 changed, 1 unchanged' in lines
    places = couch_admin.get(f'{db}/_design/places').json()
    assert places['views']['by_n'] == changed and places['_rev'].startswith('2-') and places['_rev'] != rev
    couch_admin.post(f'{db}/_bulk_docs', json={'docs': [{'_id': 'a', 'n': 1}, {'_id': 'b', 'n': 2}]})
    rows = couch_admin.get(f'{db}/_design/places/_view/by_n').json()['rows']
    assert [r['key'] for r in rows] == [-2, -1]  # the server runs the new function


def test_design_documents_it_does_not_own_are_never_touched(run_release, couch_admin, db, design_dir):
    theirs = {'_id': '_design/theirs', 'views': {'all': {'map': 'function (d) { emit(1); }'}}}
    assert couch_admin.put(f'{db}/_design/theirs', json=theirs).status_code == 201
    before = couch_admin.get(f'{db}/_design/theirs').json()
    lines = run_release()
    (design_dir / db / 'places.json').unlink()  # design/ no longer names places: it is left, not deleted
    lines += run_release()
    assert not [line for line in lines if 'theirs' in line]
    assert couch_admin.get(f'{db}/_design/theirs').json() == before
    assert couch_admin.get(f'{db}/_design/places').status_code == 200


def test_find_with_sort_works_against_a_deployed_index(run_release, make_client, couch_admin, db):
    couch_admin.post(
        f'{db}/_bulk_docs', json={'docs': [{'_id': f'f{i}', 'n': (i * 7) % 10} for i in range(10)]}
    )
    client = make_client()
    query = {'selector': {'n': {'$gt': 2}}, 'sort': [{'n': 'desc'}], 'limit': 4}
    before = client.simulate_post(f'/v1/{db}/find', json=query)
    assert before.status_code == 400  # no index yet: the local server cannot sort
    run_release()
    found = client.simulate_post(f'/v1/{db}/find', json=query)
    assert found.status_code == 200, found.text
    assert [d['n'] for d in found.json['docs']] == [9, 8, 7, 6]
