"""Bulk writes and lookups when the database answers out of request order (issue 26): each item's result,
each lookup row, is matched to its item by id, and checked here against the documents stored.

The reordering proxy (tests/support/reorder_proxy.py) rewrites the result arrays of `_bulk_docs` and
of keyed `_all_docs` on their way back; the documents are then read directly from the local server.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.pouch import CouchAdmin
from tests.support.problems import PROBLEM_JSON
from tests.support.reorder_proxy import (
    ALL_DOCS,
    BULK,
    ReorderProxy,
    fresh,
    one_added,
    one_dropped,
    one_replaced,
    reversed_order,
    rotated,
)
from tests.support.scoped_keys import PREFIX, api_keys, bearer


@pytest.fixture(scope='module')
def reorder_proxy_server(pouch, server_ssl_context):
    with ReorderProxy(('127.0.0.1', pouch.port), server_ssl_context) as proxy:
        yield proxy


@pytest.fixture
def reorder(reorder_proxy_server):
    with fresh(reorder_proxy_server) as proxy:
        yield proxy


@pytest.fixture
def client(make_client, reorder):
    return make_client(upstream=reorder, CLOUDANT_POOL_MAXSIZE='8')


def stored(couch_admin, db, ids) -> dict[str, dict]:
    """id -> {rev, deleted, doc} for each id the server holds (deleted ones too), read directly."""
    rows = couch_admin.post(
        f'{db}/_all_docs', params={'include_docs': 'true'}, json={'keys': sorted(set(ids))}
    ).json()['rows']
    return {
        row['key']: {
            'rev': row['value']['rev'],
            'deleted': bool(row['value'].get('deleted')),
            'doc': row['doc'],
        }
        for row in rows
        if 'value' in row
    }


def untruth(item: dict, result: dict, state: dict[str, dict]) -> str | None:
    """What `result` claims about `item` that the stored documents contradict; None if nothing."""
    given, claimed = item.get('_id'), result.get('id')
    if given is not None and claimed != given:
        return f'item {given!r} got the result of {claimed!r}'
    if result.get('status') not in (200, 201):
        return None  # a refusal: the ids of refused items are checked above
    found = state.get(claimed or '')
    if found is None or found['rev'] != result['rev']:
        return f'{claimed!r} is not stored at {result["rev"]}: {found}'
    if item.get('_deleted'):
        return None if found['deleted'] else f'{claimed!r} at {result["rev"]} is not deleted'
    sent = {k: v for k, v in item.items() if k not in ('_id', '_rev')}
    if found['deleted'] or found['doc'] != dict(sent, _id=claimed, _rev=result['rev']):
        return f'{claimed!r} at {result["rev"]} holds {found["doc"]}, the item sent {sent}'
    return None


def untruths(couch_admin, db, items: list[dict], results: list[dict]) -> list[str]:
    if len(results) != len(items):
        return [f'{len(results)} results for {len(items)} items']
    claimed = [r['id'] for r in results if r.get('status') in (200, 201)]
    twice = sorted({i for i in claimed if claimed.count(i) > 1})
    state = stored(couch_admin, db, [i for i in claimed if i is not None])
    found = (untruth(item, result, state) for item, result in zip(items, results, strict=True))
    return [f'ids answered twice: {twice}'] * bool(twice) + [f for f in found if f is not None]


def seeded(couch_admin, db, *names: str) -> dict[str, str]:
    return {name: couch_admin.put(f'{db}/{name}', json={'seed': name}).json()['rev'] for name in names}


def sent_docs(proxy) -> list[dict]:
    """The documents of every `_bulk_docs` request, as the server received them."""
    bulks = [r for r in proxy.requests if r.method == 'POST' and r.path.split('?')[0].endswith('/_bulk_docs')]
    return [doc for r in bulks for doc in json.loads(r.body)['docs']]


@pytest.mark.parametrize('transform', [reversed_order, rotated], ids=['reversed', 'rotated'])
def test_every_bulk_item_gets_its_own_result_when_the_database_answers_out_of_order(
    client, db, couch_admin, reorder, transform
):
    revs = seeded(couch_admin, db, 'kept', 'doomed', 'changed')
    couch_admin.put(f'{db}/changed', json={'seed': 'again', '_rev': revs['changed']})
    items: list[dict] = [
        {'_id': 'fresh', 'v': 1},
        {'v': 2},
        {'v': 3},
        {'_id': 'kept', '_rev': revs['kept'], 'v': 4},
        {'_id': 'doomed', '_rev': revs['doomed'], '_deleted': True},
        {'_id': 'fresh-too', 'v': 5},
        {'_id': 'changed', '_rev': revs['changed'], 'v': 6},  # stale: 412
        {'_id': 'kept-copy', 'v': 7},
        {'v': 8},
    ]
    reorder.rewrite(BULK, transform)
    reorder.rewrite(ALL_DOCS, transform)
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': items})
    assert result.status_code == 200, result.text
    results = result.json['results']
    assert reorder.rewritten[BULK] == 1  # the database's answer did come out of order
    assert untruths(couch_admin, db, items, results) == []
    assert [r['status'] for r in results] == [201, 201, 201, 200, 200, 201, 412, 201, 201], results
    # Every create reached the server with an id couchgate chose: 32 hex digits.
    assert all('_id' in doc for doc in sent_docs(reorder))
    assert all(re.fullmatch('[0-9a-f]{32}', results[n]['id']) for n in (1, 2, 8)), results


def test_a_prefix_key_s_creates_get_their_own_ids_inside_the_prefix(
    make_client, make_db, db, couch_admin, reorder
):
    other = make_db()
    client = make_client(db, other, upstream=reorder, API_KEYS=api_keys(db, other))
    items = [{'n': n} for n in range(6)] + [{'_id': f'{PREFIX}given', 'n': 6}]
    reorder.rewrite(BULK, reversed_order)
    result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': items}, headers=bearer('tenant'))
    assert result.status_code == 200, result.text
    results = result.json['results']
    assert [r['status'] for r in results] == [201] * 7
    assert all(r['id'].startswith(PREFIX) for r in results), results
    assert untruths(couch_admin, db, items, results) == []


def test_lookup_rows_answer_the_ids_asked_for_in_request_order(client, db, couch_admin, reorder):
    revs = seeded(couch_admin, db, 'a', 'b', 'c', 'e')
    asked = ['c', 'a', 'missing', 'e', 'b', 'a']
    reorder.rewrite(ALL_DOCS, reversed_order)
    result = client.simulate_post(f'/v1/{db}/lookup', json={'ids': asked})
    assert result.status_code == 200, result.text
    assert reorder.rewritten[ALL_DOCS] == 1
    docs = result.json['docs']
    assert [d['id'] for d in docs] == asked
    for asked_id, entry in zip(asked, docs, strict=True):
        if asked_id == 'missing':
            assert entry == {'id': 'missing', 'status': 404}
        else:
            assert entry['rev'] == revs[asked_id]
            assert entry['doc'] == {'_id': asked_id, '_rev': revs[asked_id], 'seed': asked_id}


def assert_bad_gateway(result) -> None:
    """A 502 problem for the whole request: no item, no row claims anything."""
    assert result.status_code == 502, f'{result.status_code}: {result.text}'
    assert result.headers['content-type'] == PROBLEM_JSON
    assert 'results' not in result.json and 'docs' not in result.json


@pytest.mark.parametrize('transform', [one_dropped, one_added, one_replaced])
def test_bulk_results_that_do_not_match_the_items_are_a_502(client, db, couch_admin, reorder, transform):
    revs = seeded(couch_admin, db, 'kept')
    items = [{'_id': 'fresh', 'v': 1}, {'v': 2}, {'_id': 'kept', '_rev': revs['kept'], 'v': 3}]
    reorder.rewrite(BULK, transform)
    assert_bad_gateway(client.simulate_post(f'/v1/{db}/bulk', json={'docs': items}))


@pytest.mark.parametrize('transform', [one_dropped, one_added, one_replaced])
def test_a_conflict_explained_by_rows_that_do_not_match_is_a_502(client, db, couch_admin, reorder, transform):
    revs = seeded(couch_admin, db, 'changed')
    couch_admin.put(f'{db}/changed', json={'seed': 'again', '_rev': revs['changed']})
    items = [{'_id': 'fresh', 'v': 1}, {'_id': 'changed', '_rev': revs['changed'], 'v': 2}]
    reorder.rewrite(ALL_DOCS, transform)  # the revisions read that tells a 412 from a 404 or 409
    assert_bad_gateway(client.simulate_post(f'/v1/{db}/bulk', json={'docs': items}))
    assert reorder.rewritten[ALL_DOCS] == 1


@pytest.mark.parametrize('transform', [one_dropped, one_added, one_replaced])
def test_lookup_rows_that_do_not_match_the_ids_are_a_502(client, db, couch_admin, reorder, transform):
    seeded(couch_admin, db, 'a', 'b', 'c')
    reorder.rewrite(ALL_DOCS, transform)
    assert_bad_gateway(client.simulate_post(f'/v1/{db}/lookup', json={'ids': ['a', 'b', 'c']}))


def mixed_batch(thread: int, batch: int, live: dict[str, str], stale: dict[str, str]) -> list[dict]:
    """3 creates with ids, 3 without, updates of up to 3 live documents, a delete, a stale update."""
    items: list[dict] = [{'_id': f'w{thread}-{batch}-{n}', 'n': n} for n in range(3)]
    items += [{'t': thread, 'b': batch, 'n': n} for n in range(3)]
    oldest = list(live)[:4]
    items += [{'_id': doc_id, '_rev': live[doc_id], 'b': batch} for doc_id in oldest[:3]]
    items += [{'_id': doc_id, '_rev': live[doc_id], '_deleted': True} for doc_id in oldest[3:]]
    items += [{'_id': doc_id, '_rev': stale.pop(doc_id), 'stale': True} for doc_id in list(stale)[:1]]
    return items


def test_eight_threads_of_mixed_batches_out_of_order_get_no_result_of_another_item(
    client, db, pouch, reorder
):
    reorder.rewrite(BULK, rotated)
    reorder.rewrite(ALL_DOCS, rotated)

    def run(thread: int) -> tuple[int, list[str]]:
        admin = CouchAdmin(pouch.url)
        live: dict[str, str] = {}  # id -> current rev, oldest change first
        stale: dict[str, str] = {}  # id -> a rev it had before
        found: list[str] = []
        checked = 0
        try:
            for batch in range(40):
                items = mixed_batch(thread, batch, live, stale)
                result = client.simulate_post(f'/v1/{db}/bulk', json={'docs': items})
                if result.status_code != 200:
                    found.append(f'batch {thread}/{batch}: {result.status_code} {result.text}')
                    continue
                results = result.json['results']
                found += untruths(admin, db, items, results)
                checked += len(items)
                for item, outcome in zip(items, results, strict=False):
                    if outcome.get('status') not in (200, 201) or 'stale' in item:
                        continue
                    if '_rev' in item:
                        stale[item['_id']] = live.pop(item['_id'])
                    if not item.get('_deleted'):
                        live[outcome['id']] = outcome['rev']
        finally:
            admin.close()
        return checked, found

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(run, range(8)))
    mismatches = [m for _, found in outcomes for m in found]
    assert reorder.rewritten[BULK] == 8 * 40  # every batch came back out of order
    assert len(mismatches) == 0, f'{len(mismatches)} mismatches, e.g. {mismatches[:5]}'
    assert sum(checked for checked, _ in outcomes) >= 8 * 40 * 9  # ~10 items a batch, each one checked
