"""gzip when the client accepts it: whole bodies, the export chunk by chunk, ETags that say which."""

from __future__ import annotations

import gzip
import json
import os
import zlib

import pytest
from falcon import testing

from api.edge.compression import GzipCache, accepts_gzip, gzip_bytes
from api.edge.conditional import digest
from api.edge.representation import FileCache
from tests.support.api_keys import KEY_HEADER
from tests.support.fakes import FakeCouch

GZIP = {'Accept-Encoding': 'gzip'}
LISTING = '/v1/foundbite/docs?limit=30&include_docs=true'


@pytest.mark.parametrize(
    'header, accepted',
    [
        ('gzip', True),
        ('gzip, deflate, br', True),
        ('br;q=1.0, gzip;q=0.5', True),
        ('GZIP', True),
        ('*', True),
        ('gzip;q=0', False),
        ('gzip;q=0.000', False),
        ('*;q=0', False),
        ('gzip;q=0, *', False),  # named explicitly: the wildcard does not override it
        ('deflate, br', False),
        ('identity', False),
        ('', False),
        (None, False),
        ('gzip;q=nonsense', False),
    ],
)
def test_accept_encoding_and_its_q_values_are_respected(header, accepted):
    assert accepts_gzip(header) is accepted


def test_a_listing_is_gzipped_for_a_client_that_accepts_it(client):
    plain, packed = client.simulate_get(LISTING), client.simulate_get(LISTING, headers=GZIP)
    assert 'content-encoding' not in plain.headers
    assert packed.headers['content-encoding'] == 'gzip'
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 3
    assert int(packed.headers['content-length']) == len(packed.content)
    assert plain.headers['vary'] == packed.headers['vary'] == 'Accept-Encoding'
    refused = client.simulate_get(LISTING, headers={'Accept-Encoding': 'gzip;q=0, identity'})
    assert refused.content == plain.content and 'content-encoding' not in refused.headers


def test_the_gzipped_etag_is_another_tag_and_either_revalidates_its_own_form(make_client):
    client = make_client(API_KEYS='')
    plain, packed = client.simulate_get(LISTING), client.simulate_get(LISTING, headers=GZIP)
    assert packed.headers['etag'] == plain.headers['etag'][:-1] + '-gzip"'
    again = client.simulate_get(LISTING, headers=dict(GZIP, **{'If-None-Match': packed.headers['etag']}))
    assert again.status_code == 304 and again.headers['etag'] == packed.headers['etag']
    assert again.headers['vary'] == 'Accept-Encoding' and 'content-encoding' not in again.headers
    identity = client.simulate_get(LISTING, headers={'If-None-Match': packed.headers['etag']})
    assert identity.status_code == 304 and identity.headers['etag'] == plain.headers['etag']


def test_small_bodies_go_as_they_are_but_still_vary(client):
    small = client.simulate_get('/v1/foundbite/docs/d01', headers=GZIP)
    assert 'content-encoding' not in small.headers and small.headers['etag'] == '"1-fake"'
    assert small.headers['vary'] == 'Accept-Encoding'


def test_a_large_documents_gzipped_etag_still_names_its_rev_for_if_match(make_client):
    couch = FakeCouch('foundbite')
    couch.dbs['foundbite']['big'] = {'_id': 'big', '_rev': '1-fake', 'text': 'ramen ' * 1000}
    client = make_client(couch)
    got = client.simulate_get('/v1/foundbite/docs/big', headers=GZIP)
    assert got.headers['content-encoding'] == 'gzip' and got.headers['etag'] == '"1-fake-gzip"'
    cached = client.simulate_get(
        '/v1/foundbite/docs/big', headers=dict(GZIP, **{'If-None-Match': '"1-fake-gzip"'})
    )
    assert cached.status_code == 304 and cached.headers['etag'] == '"1-fake-gzip"'
    updated = client.simulate_put(
        '/v1/foundbite/docs/big', json={'a': 1}, headers={'If-Match': '"1-fake-gzip"'}
    )
    assert updated.status_code == 200 and updated.headers['etag'] == '"2-fake"'


def test_the_export_is_gzipped_chunk_by_chunk_each_readable_on_arrival(make_client):
    client = make_client(EXPORT_BATCH_SIZE='10')
    plain = client.simulate_get('/v1/foundbite/export')
    result = client.simulate_get('/v1/foundbite/export', headers=GZIP)
    assert result.headers['content-encoding'] == 'gzip' and 'content-length' not in result.headers
    assert gzip.decompress(result.content) == plain.content
    # Straight through WSGI, to see the body as the server would send it: chunk by chunk.
    body = client.app(
        testing.create_environ('/v1/foundbite/export', headers=dict(GZIP, **KEY_HEADER)), lambda *a: None
    )
    try:
        first = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(next(iter(body)))
    finally:
        body.close()
    # The first chunk decompresses on its own: a client reads each batch as it arrives.
    assert [json.loads(line)['_id'] for line in first.splitlines()] == [f'd{i:02d}' for i in range(10)]


def test_head_with_gzip_has_the_headers_of_the_gzipped_get(client):
    get, head = client.simulate_get(LISTING, headers=GZIP), client.simulate_head(LISTING, headers=GZIP)
    assert head.content == b''
    for name in ['content-encoding', 'content-length', 'etag', 'vary']:
        assert head.headers.get(name) == get.headers.get(name), name


def test_images_are_not_compressed_again(client):
    icon = client.simulate_get('/docs/assets/favicon-32x32.png', headers=GZIP)
    assert icon.status_code == 200 and 'content-encoding' not in icon.headers


def test_a_streamed_file_is_read_once_per_version_and_always_closed(tmp_path):
    path = tmp_path / 'bundle.js'
    path.write_bytes(b'a' * 2000)
    files = FileCache()
    first = path.open('rb')
    body, tag = files.read(first)
    path.write_bytes(b'b' * 2000)  # the same size, so only the modification time tells them apart
    os.utime(path, ns=(1, 1))
    again = path.open('rb')
    assert files.read(again) == (b'b' * 2000, digest(b'b' * 2000)) != (body, tag)
    assert first.closed and again.closed


def test_the_gzip_cache_keeps_few_and_small_bodies():
    cache = GzipCache(entries=2, max_bytes=100)
    assert gzip.decompress(cache.get('a', b'x' * 50)) == b'x' * 50
    assert cache.get('a', b'ignored: the digest says it is the same body') == gzip_bytes(b'x' * 50)
    assert gzip.decompress(cache.get('big', b'y' * 101)) == b'y' * 101
    assert gzip.decompress(cache.get('big', b'z' * 101)) == b'z' * 101  # never kept: too big
    cache.get('b', b'b'), cache.get('c', b'c')
    assert gzip.decompress(cache.get('a', b'now read again')) == b'now read again'  # pushed out
