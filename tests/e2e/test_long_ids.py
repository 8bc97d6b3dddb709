"""Every id the API accepts is addressable through gunicorn: 1,024 characters of any kind, which
percent-encoded is up to 12 KB of request line, and twice that in a `next` link."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from tests.support.api_keys import KEY_HEADER, TEST_KEYS
from tests.support.gunicorn_process import serving_database

# (character, count): the documented limit in each UTF-8 length, and the shorter ones.
IDS = [('é', 1024), ('😀', 1024), ('漢', 1024), ('€', 1024), ('é', 680), ('😀', 400), ('€', 455)]


@pytest.fixture(scope='module')
def web(pouch, couch_admin):
    with serving_database(pouch, couch_admin, 'longids', API_KEYS=TEST_KEYS) as process:
        yield process


def doc_url(web, doc_id: str) -> str:
    return f'{web.url}/v1/{web.db}/docs/{quote(doc_id, safe="")}'


def statuses(*responses: requests.Response) -> str:
    return ' '.join(f'{r.status_code} {r.headers.get("content-type")}' for r in responses)


@pytest.mark.parametrize('char, count', IDS, ids=[f'{c}x{n}' for c, n in IDS])
def test_put_get_delete_and_the_location_of_a_post(web, char, count):
    doc_id = char * (count - 1) + 'p'
    with requests.Session() as http:
        put = http.put(doc_url(web, doc_id), json={'n': count}, headers=KEY_HEADER, timeout=20)
        got = http.get(doc_url(web, doc_id), timeout=20)
        deleted = http.delete(
            doc_url(web, doc_id), headers={**KEY_HEADER, 'If-Match': put.headers.get('etag', '')}
        )
        posted = http.post(
            f'{web.url}/v1/{web.db}/docs',
            json={'_id': char * (count - 1) + 'q'},
            headers=KEY_HEADER,
            timeout=20,
        )
        location = http.get(web.url + posted.headers.get('location', '/missing'), timeout=20)
    print(
        f'\n{char}x{count}: PUT/GET/DELETE/POST/GET Location: {statuses(put, got, deleted, posted, location)}'
    )
    assert [put.status_code, got.status_code, deleted.status_code] == [201, 200, 204]
    assert (got.json()['_id'], got.json()['n']) == (doc_id, count)
    assert [posted.status_code, location.status_code] == [201, 200]
    assert location.json()['_id'] == char * (count - 1) + 'q'


@pytest.mark.parametrize('char', ['é', '😀', '漢', '€'])
def test_the_next_link_of_a_page_ending_at_a_long_id_answers(web, char):
    first, last = char * 1023 + 'a', char * 1023 + 'b'
    with requests.Session() as http:
        for doc_id in (first, last):
            assert http.put(doc_url(web, doc_id), json={}, headers=KEY_HEADER, timeout=20).status_code == 201
        page = http.get(
            f'{web.url}/v1/{web.db}/docs',
            params={'start_key': first, 'end_key': last, 'limit': 1},
            timeout=20,
        )
        assert page.status_code == 200, page.text
        assert [row['id'] for row in page.json()['rows']] == [first]
        link = page.json()['next']
        following = http.get(web.url + link, timeout=20)
    print(f'\n{char}: next link of {len(link)} bytes: {statuses(following)}')
    assert following.status_code == 200, following.text[:300]
    assert [row['id'] for row in following.json()['rows']] == [last]
