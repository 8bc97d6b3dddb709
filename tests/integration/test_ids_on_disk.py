"""Every id on pouchdb-server on disk, as `make run` starts it: listings, `next` walks and exports.

On disk (leveldb) the server keeps ids in code point order, but answers nothing for a range whose
keys are out of order as JavaScript compares them: from a fullwidth `\uff21…` up to U+10FFFF, say. Such a
range is asked for in two parts (api/upstream/id_range.py `servable`). In memory, ids are in
UTF-16 order and one range serves (tests/integration/test_ids_of_every_script.py).
"""

from __future__ import annotations

import json

import pytest

from tests.support.pouch import CouchAdmin, PouchServer
from tests.support.tls_front import TLSFront

# First characters at every boundary the two orders disagree on, and around them.
FIRSTS = [
    *'09AZaz~',
    *(chr(c) for c in (0x7F, 0x80, 0xFF, 0x100, 0x7FF, 0x800, 0x3042, 0x4E00, 0xD7FF)),
    *(chr(c) for c in (0xE000, 0xF8FF, 0xF900, 0xFB01, 0xFF21, 0xFF5A, 0xFF76, 0xFFFD, 0xFFFF)),
    *(chr(c) for c in (0x10000, 0x10400, 0x1D11E, 0x1F600, 0x20000, 0xE0001, 0x10FFFD, 0x10FFFF)),
]
COUNT = 1234
DB = 'scripts'
ALL, TENANT = 'all-key-0123456789abcdef', 'tenant-key-0123456789abcdef'


@pytest.fixture(scope='module')
def on_disk(tmp_path_factory, server_ssl_context):
    with (
        PouchServer(tmp_path_factory.mktemp('disk'), in_memory=False) as pouch,
        TLSFront(('127.0.0.1', pouch.port), server_ssl_context) as front,
    ):
        admin = CouchAdmin(pouch.url)
        assert admin.put(DB).status_code == 201
        ids = [f'{FIRSTS[n % len(FIRSTS)]}-{n:05d}' for n in range(COUNT)]
        ids += [f't7:{first}-{n}' for n, first in enumerate(FIRSTS)]  # a prefix key's own
        for at in range(0, len(ids), 500):
            docs = [{'_id': i} for i in ids[at : at + 500]]
            assert admin.post(f'{DB}/_bulk_docs', json={'docs': docs}).status_code == 201
        yield front, ids


@pytest.fixture
def disk_client(on_disk, make_client):
    front, _ = on_disk
    keys = json.dumps(
        [
            {'name': 'all', 'key': ALL, 'scopes': ['read', 'export']},
            {'name': 'tenant', 'key': TENANT, 'scopes': ['read', 'export'], 'id_prefix': 't7:'},
        ]
    )
    return make_client(DB, upstream=front, API_KEYS=keys, EXPORT_BATCH_SIZE='100')


def bearer(key: str) -> dict:
    return {'Authorization': f'Bearer {key}'}


def walk(client, url: str, headers=None) -> list[str]:
    seen: list[str] = []
    while url:
        page = client.simulate_get(url, headers=headers)
        assert page.status_code == 200, page.text
        seen += [row['id'] for row in page.json['rows']]
        url = page.json.get('next')
    return seen


@pytest.mark.parametrize('descending', [False, True])
def test_a_next_walk_in_pages_of_7_reaches_every_id(disk_client, on_disk, descending):
    _, ids = on_disk
    url = f'/v1/{DB}/docs?limit=7' + ('&descending=true' if descending else '')
    seen = walk(disk_client, url, headers=bearer(ALL))
    assert sorted(set(ids) - set(seen))[:5] == []
    assert len(seen) == len(set(seen)) == len(ids)
    assert seen == sorted(ids, reverse=descending)  # code point order, as the server keeps them


def test_an_export_has_every_id(disk_client, on_disk):
    _, ids = on_disk
    result = disk_client.simulate_get(f'/v1/{DB}/export', headers=bearer(ALL))
    assert result.status_code == 200
    assert sorted(json.loads(line)['_id'] for line in result.text.splitlines()) == sorted(ids)


@pytest.mark.parametrize('descending', [False, True])
def test_a_prefix_key_walks_all_of_its_own_ids_and_no_other(disk_client, on_disk, descending):
    _, ids = on_disk
    own = sorted((i for i in ids if i.startswith('t7:')), reverse=descending)
    url = f'/v1/{DB}/docs?limit=7' + ('&descending=true' if descending else '')
    assert walk(disk_client, url, headers=bearer(TENANT)) == own
