"""Listings without an end key and exports reach every document, whatever the first character of its
id: the local server stops after U+00FF without an explicit end key (docs/DESIGN.md)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

# First characters from many scripts and planes: Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari,
# Thai, Hangul, CJK, private use and halfwidth forms (above U+E000), emoji and beyond (above U+FFFF).
FIRSTS = [
    *'AZaz09~',
    *(chr(c) for c in (0xC0, 0xFF, 0x100, 0x3B1, 0x416, 0x5D0, 0x627, 0x915, 0xE01, 0x3042, 0x4E00)),
    *(chr(c) for c in (0xAC00, 0xD7A3, 0xE000, 0xF900, 0xFB01, 0xFF76, 0xFFFD)),
    *(chr(c) for c in (0x10400, 0x1D11E, 0x1F600, 0x20000, 0x10FFFD)),
]
COUNT = 1234


@pytest.fixture
def scripts_db(db, couch_admin) -> str:
    ids = [f'{FIRSTS[n % len(FIRSTS)]}-{n:05d}' for n in range(COUNT)]
    for at in range(0, COUNT, 500):
        docs = [{'_id': i} for i in ids[at : at + 500]]
        assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    assert couch_admin.get(db).json()['doc_count'] == COUNT
    return db


@pytest.mark.parametrize('descending', [False, True])
def test_a_listing_walked_through_next_reaches_every_document(client, scripts_db, descending):
    seen: list[str] = []
    url = f'/v1/{scripts_db}/docs?limit=100' + ('&descending=true' if descending else '')
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200
        seen += [row['id'] for row in page.json['rows']]
        url = page.json.get('next')
    assert len(seen) == len(set(seen)) == COUNT
    assert {i[0] for i in seen} == set(FIRSTS)


@pytest.mark.app_env(EXPORT_BATCH_SIZE='300')
def test_an_export_has_a_line_for_every_document(client, scripts_db):
    result = client.simulate_get(f'/v1/{scripts_db}/export')
    assert result.status_code == 200
    assert result.content.count(b'\n') == COUNT


def test_next_links_carry_ids_of_1024_four_byte_characters(client, db, couch_admin):
    ids = [ch * 1024 for ch in ('\U0001f600', '\U0001f601', '\U00020000')]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': [{'_id': i} for i in ids]}).status_code == 201
    seen, url, links = [], f'/v1/{db}/docs?limit=1', []
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200
        seen += [row['id'] for row in page.json['rows']]
        url = page.json.get('next')
        links += [url] if url else []
    assert seen == ids
    assert [unquote(link.split('start_key=')[1].split('&')[0]) for link in links] == ids[1:]
    assert all(len(link) > 12 * 1024 for link in links)  # 4 bytes, each written %XX
