"""Listing against the real server: following next links reaches every document once, in order."""

import pytest


def test_listing_pages_through_every_document(client, db, couch_admin):
    docs = [{'_id': f'k{i:03d}', 'n': i} for i in range(60)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    seen, url = [], f'/v1/{db}/docs?limit=25'
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200 and page.json['total_rows'] == 60
        seen += [row['id'] for row in page.json['rows']]
        url = page.json.get('next')
        assert ('link' in page.headers) == bool(url)
    assert seen == [d['_id'] for d in docs]

    window = client.simulate_get(
        f'/v1/{db}/docs',
        params={
            'start_key': 'k010',
            'end_key': 'k005',
            'descending': 'true',
            'include_docs': 'true',
            'limit': 3,
        },
    )
    assert [r['id'] for r in window.json['rows']] == ['k010', 'k009', 'k008']
    assert window.json['rows'][0]['doc']['n'] == 10 and window.json['rows'][0]['rev'].startswith('1-')


@pytest.mark.app_env(API_MAX_PAGE_BYTES='1024')
def test_a_page_ends_at_the_byte_budget_with_at_least_one_row(client, db, couch_admin):
    docs = [{'_id': f'p{i:03d}', 'pad': 'x' * 300} for i in range(20)]
    docs[7]['pad'] = 'y' * 5000  # alone over the budget: a page of its own
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    pages, url = [], f'/v1/{db}/docs?limit=25&include_docs=true'
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200 and page.json['total_rows'] == 20
        pages.append([row['id'] for row in page.json['rows']])
        url = page.json.get('next')
        assert ('link' in page.headers) == bool(url)
        assert len(page.content) <= 1024 + 600 or len(pages[-1]) == 1  # rows within the budget
    assert [i for ids in pages for i in ids] == [d['_id'] for d in docs]
    assert ['p007'] in pages and all(1 <= len(ids) <= 2 for ids in pages)
