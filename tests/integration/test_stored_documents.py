"""Every document the server can store, the API serves: stored directly as raw JSON (bypassing the
API), then read back through GET, listings, find and the export, byte for byte."""

from __future__ import annotations

import pytest

DEEP = 2500
# Raw JSON bytes as another client could store them: none of it survives orjson, some not stdlib json.
STORED = {
    'surrogate-value': b'{"_id":"surrogate-value","s":"a\\ud800b","t":"\\udfff"}',
    'surrogate-key': b'{"_id":"surrogate-key","\\ud800":1,"k\\udc00":[true]}',
    'deep': b'{"_id":"deep","d":' + b'[' * DEEP + b'{"x":"]}\\"["}' + b']' * DEEP + b'}',
    'deep-objects': b'{"_id":"deep-objects","o":' + b'{"a":' * DEEP + b'null' + b'}' * DEEP + b'}',
    'big-integers': b'{"_id":"big-integers","n":123456789012345678901234567890,"m":-98765432109876543210}',
    'large-array': b'{"_id":"large-array","a":[' + b','.join(b'%d' % i for i in range(50_000)) + b']}',
}
SURROGATE_ID = b'{"_id":"id-\\ud800-lone","v":1}'
SURROGATE_SLASH_ID = b'{"_id":"a/\\udc00/b","v":2}'


def store(couch_admin, db: str, raw: bytes) -> None:
    response = couch_admin.post(db, data=raw, headers={'Content-Type': 'application/json'})
    assert response.status_code == 201, response.text


def as_stored(couch_admin, db: str, doc_id: str) -> bytes:
    """The document's JSON as the server sends it (its _rev added), without the final newline."""
    return couch_admin.get(f'{db}/{doc_id}').content.rstrip(b'\n')


@pytest.fixture
def hostile_db(db, couch_admin) -> str:
    for n in range(3):
        store(couch_admin, db, b'{"_id":"a-plain-%d","n":%d}' % (n, n))
    for raw in STORED.values():
        store(couch_admin, db, raw)
    store(couch_admin, db, SURROGATE_ID)
    store(couch_admin, db, SURROGATE_SLASH_ID)
    return db


def test_get_passes_every_stored_document_through_byte_for_byte(client, hostile_db, couch_admin):
    for doc_id in STORED:
        result = client.simulate_get(f'/v1/{hostile_db}/docs/{doc_id}')
        assert result.status_code == 200, doc_id
        assert result.content.rstrip(b'\n') == as_stored(couch_admin, hostile_db, doc_id)
        assert result.headers['content-type'] == 'application/json'
        rev = couch_admin.get(f'{hostile_db}/_all_docs', params={'key': f'"{doc_id}"'}).json()['rows']
        assert result.headers['etag'] == f'"{rev[0]["value"]["rev"]}"'


def test_a_listing_with_documents_holds_every_one_byte_for_byte(client, hostile_db, couch_admin):
    result = client.simulate_get(f'/v1/{hostile_db}/docs', params={'include_docs': 'true', 'limit': 1000})
    assert result.status_code == 200
    for doc_id in STORED:
        assert as_stored(couch_admin, hostile_db, doc_id) in result.content, doc_id
    assert b'"id-\\ud800-lone"' in result.content  # the id with a lone surrogate, as stored
    assert result.content.count(b'"rev":"') == 3 + len(STORED) + 2


def test_find_passes_every_stored_document_through(client, hostile_db, couch_admin):
    result = client.simulate_post(f'/v1/{hostile_db}/find', json={'selector': {}, 'limit': 100})
    assert result.status_code == 200
    for doc_id in STORED:
        assert as_stored(couch_admin, hostile_db, doc_id) in result.content, doc_id
    assert b'"id-\\ud800-lone"' in result.content


@pytest.mark.app_env(EXPORT_BATCH_SIZE='2')
def test_an_export_with_such_documents_in_later_batches_is_complete(client, hostile_db, couch_admin):
    # Batches of two: the plain documents come first, every stored oddity in a later batch.
    result = client.simulate_get(f'/v1/{hostile_db}/export')
    assert result.status_code == 200
    lines = result.content.split(b'\n')
    assert lines[-1] == b'' and len(lines) - 1 == couch_admin.get(hostile_db).json()['doc_count']
    for doc_id in STORED:
        assert as_stored(couch_admin, hostile_db, doc_id) in lines, doc_id
    assert any(b'"_id":"id-\\ud800-lone"' in line for line in lines)


def test_next_links_page_past_an_id_with_a_lone_surrogate(client, hostile_db, couch_admin):
    seen, url = 0, f'/v1/{hostile_db}/docs?limit=1'
    links = []
    while url:
        page = client.simulate_get(url)
        assert page.status_code == 200, url
        seen += page.content.count(b'"rev":"')
        url = page.json.get('next') if b'\\ud800' not in page.content else _next(page.content)
        links.append(url)
    assert seen == couch_admin.get(hostile_db).json()['doc_count']
    assert f'/v1/{hostile_db}/docs?start_key=id-%ED%A0%80-lone&limit=1' in links  # WTF-8, percent-encoded


def test_get_of_an_id_with_a_lone_surrogate_by_its_wtf8_path(client, hostile_db):
    # As gunicorn passes /docs/id-%ED%A0%80-lone on (PEP 3333: the bytes as latin-1); Falcon's test
    # client would decode the escapes to U+FFFD first.
    path = f'/v1/{hostile_db}/docs/id-\xed\xa0\x80-lone'
    result = client.simulate_get(path, extras={'PATH_INFO': path})
    assert result.status_code == 200
    assert b'"_id":"id-\\ud800-lone"' in result.content
    path = f'/v1/{hostile_db}/docs/a/\xed\xb0\x80/b'  # a/%ED%B0%80/b: '/' in the id too
    result = client.simulate_get(path, extras={'PATH_INFO': path})
    assert result.status_code == 200
    assert b'"_id":"a/\\udc00/b"' in result.content
    assert result.headers['etag'].startswith('"1-')


def _next(body: bytes) -> str:
    # A body with a lone surrogate is not UTF-8 once decoded: read its next link as bytes.
    start = body.index(b'"next":"') + len(b'"next":"')
    return body[start : body.index(b'"', start)].decode('ascii')
