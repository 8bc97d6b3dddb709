"""A client generated from /openapi.json by openapi-python-client (pinned 0.29) does all the API offers.

The generator must skip nothing (no warning, a module per operation); then only the generated
functions, over real HTTP, against the real app and the real local server: create with POST and
with PUT, read, a conditional read (304), an update with If-Match, a delete, a listing walked page
by page through `next`, a Mango query and the export, read whole and streamed.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.support.api_keys import TEST_KEY
from tests.support.wsgi_server import serving

GENERATOR = Path(sys.executable).parent / 'openapi-python-client'
PACKAGE = 'couchgate_client'


@pytest.fixture
def served(client):
    with serving(client.app) as url:
        yield url


@pytest.fixture
def generated(served, tmp_path):
    """(the generator's output, a function importing a module of the generated package by its name)."""
    yield from generate(served, tmp_path)


def generate(served: str, tmp_path: Path):
    # The venv's bin on PATH: the generator formats its output with ruff, and says so if it cannot.
    env = dict(os.environ, PATH=os.pathsep.join([str(GENERATOR.parent), os.environ['PATH']]))
    command = [str(GENERATOR), 'generate', '--url', f'{served}/openapi.json', '--meta', 'none']
    run = subprocess.run(
        [*command, '--output-path', str(tmp_path / PACKAGE)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    sys.path.insert(0, str(tmp_path))
    yield output, lambda name: importlib.import_module(f'{PACKAGE}.{name}')
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + '.')]:
        del sys.modules[name]


def snake(operation_id: str) -> str:
    return re.sub(r'(?<!^)([A-Z])', r'_\1', operation_id).lower()


def test_the_pinned_generator_makes_a_function_of_every_operation_and_warns_of_nothing(generated, served):
    output, module = generated
    version = subprocess.run([str(GENERATOR), '--version'], capture_output=True, text=True, check=True)
    assert re.search(r'\b0\.29\.\d+\b', version.stdout), version.stdout
    assert 'Generating' in output
    assert not re.search(r'warning|will not be generated|will be omitted|unable to', output, re.I), output
    document = requests.get(f'{served}/openapi.json', timeout=10).json()
    operations = {
        (op['tags'][0], snake(op['operationId']))
        for item in document['paths'].values()
        for method, op in item.items()
        if method != 'parameters'
    }
    assert len(operations) >= 15
    for tag, name in operations:
        assert callable(module(f'api.{tag}.{name}').sync_detailed), name


def test_the_generated_client_creates_reads_updates_deletes_lists_finds_and_exports(generated, served, db):
    _, module = generated
    api = module('client').AuthenticatedClient(base_url=served, token=TEST_KEY)
    models = module('models')
    docs = lambda name: module(f'api.documents.{name}')  # noqa: E731
    database = models.Database(db)

    posted = docs('create_document').sync_detailed(
        database, client=api, body=models.NewDocument.from_dict({'_id': 'a/b é', 'n': 1})
    )
    assert posted.status_code == 201 and posted.parsed.id == 'a/b é', posted.content
    put = docs('put_document').sync_detailed(
        database, 'c/d', client=api, body=models.DocumentBody.from_dict({'n': 2})
    )
    assert put.status_code == 201 and put.parsed.rev.startswith('1-'), put.content

    read = docs('get_document').sync_detailed(database, 'a/b é', client=api)
    assert read.status_code == 200 and read.parsed.field_id == 'a/b é' and read.parsed['n'] == 1
    assert read.headers['etag'] == posted.headers['etag'] == f'"{read.parsed.field_rev}"'
    unchanged = docs('get_document').sync_detailed(
        database, 'a/b é', client=api, if_none_match=read.headers['etag']
    )
    assert unchanged.status_code == 304 and unchanged.content == b''

    updated = docs('put_document').sync_detailed(
        database,
        'a/b é',
        client=api,
        body=models.DocumentBody.from_dict({'n': 3}),
        if_match=read.headers['etag'],
    )
    assert updated.status_code == 200 and updated.parsed.rev.startswith('2-'), updated.content
    assert docs('get_document').sync(database, 'a/b é', client=api)['n'] == 3

    deleted = docs('delete_document').sync_detailed(database, 'c/d', client=api, if_match=put.headers['etag'])
    assert deleted.status_code == 204
    gone = docs('get_document').sync(database, 'c/d', client=api)
    assert isinstance(gone, models.Problem) and gone.type_ == '/problems/not-found' and gone.status == 404

    ids = sorted(['a/b é', *(f'doc-{n}' for n in range(6))])
    for doc_id in ids[1:]:
        created = docs('create_document').sync(
            database, client=api, body=models.NewDocument.from_dict({'_id': doc_id})
        )
        assert created.id == doc_id
    assert walk(docs('list_documents'), database, api) == [ids[0:3], ids[3:6], ids[6:]]

    query = models.Query(selector=models.QuerySelector.from_dict({'n': {'$gte': 3}}), limit=10)
    found = docs('find').sync(database, client=api, body=query)
    assert [doc['_id'] for doc in found.docs] == ['a/b é']

    whole = docs('export_documents').sync(database, client=api)
    assert [json.loads(line)['_id'] for line in whole.payload.read().splitlines()] == ids
    # Streamed: the generated request, sent through the generated client's own httpx client.
    request = docs('export_documents')._get_kwargs(database, start_key='doc-')
    with api.get_httpx_client().stream(**request) as stream:
        assert stream.status_code == 200
        assert [json.loads(line)['_id'] for line in stream.iter_lines() if line] == ids[1:]


def walk(list_documents: ModuleType, database, api) -> list[list[str]]:
    """The ids of each page, following `next` (its query parameters are listDocuments' own)."""
    pages: list[list[str]] = []
    arguments: dict[str, int | str] = {'limit': 3}
    while True:
        page = list_documents.sync_detailed(database, client=api, **arguments)
        assert page.status_code == 200, page.content
        pages.append([row.id for row in page.parsed.rows])
        following = page.parsed.next_
        if not isinstance(following, str):
            assert 'link' not in page.headers
            return pages
        assert page.headers['link'].startswith(f'<{following}>;') and 'next' in page.headers['link']
        arguments = {
            name: int(v) if name == 'limit' else v for name, v in parse_qsl(urlsplit(following).query)
        }


def test_the_generated_client_offers_the_views_of_design_by_name(make_client, db, couch_admin, tmp_path):
    (tmp_path / 'design' / db).mkdir(parents=True)
    by_tag = {
        'map': 'function (doc) { (doc.tags || []).forEach(function (t) { emit(t, 1); }); }',
        'reduce': '_count',
    }
    (tmp_path / 'design' / db / 'places.json').write_text(json.dumps({'views': {'by_tag': by_tag}}))
    couch_admin.put(f'{db}/_design/places', json={'views': {'by_tag': by_tag}})
    couch_admin.post(f'{db}/_bulk_docs', json={'docs': [{'tags': ['a', 'b']}, {'tags': ['a']}]})
    client = make_client(DESIGN_DIR=str(tmp_path / 'design'))
    with serving(client.app) as url:
        generation = generate(url, tmp_path / 'generated')
        output, module = next(generation)
        try:
            assert not re.search(r'warning|will not be generated|unable to', output, re.I), output
            models = module('models')
            assert [v.value for v in models.ViewName] == ['by_tag']
            assert [v.value for v in models.DesignDocumentName] == ['places']
            assert models.Views.from_dict({db: 'places/by_tag'}).additional_properties == {}  # a member
            api = module('client').AuthenticatedClient(base_url=url, token=TEST_KEY)
            rows = module('api.views.query_view').sync(
                models.Database(db),
                models.DesignDocumentName('places'),
                models.ViewName('by_tag'),
                client=api,
                group=True,
            )
            assert [(r.key, r.value) for r in rows.rows] == [('a', 2), ('b', 1)]
        finally:
            next(generation, None)


def test_the_generated_client_writes_in_bulk_looks_up_and_sends_an_idempotency_key(generated, served, db):
    _, module = generated
    api = module('client').AuthenticatedClient(base_url=served, token=TEST_KEY)
    models = module('models')
    docs = lambda name: module(f'api.documents.{name}')  # noqa: E731
    database = models.Database(db)

    body = models.BulkRequest.from_dict({'docs': [{'_id': 'a', 'n': 1}, {'n': 2}, {'_id': '_design/x'}]})
    written = docs('bulk_write').sync_detailed(database, client=api, body=body, idempotency_key='bulk-1')
    assert written.status_code == 200, written.content
    assert [r.status for r in written.parsed.results] == [201, 201, 400]
    assert written.parsed.results[2].problem.type_ == '/problems/invalid-document-id'
    again = docs('bulk_write').sync_detailed(database, client=api, body=body, idempotency_key='bulk-1')
    assert again.status_code == 200 and again.content == written.content

    lookup = models.LookupRequest(ids=['a', 'missing', written.parsed.results[1].id])
    found = docs('lookup_documents').sync(database, client=api, body=lookup)
    assert [entry.id for entry in found.docs] == lookup.ids
    assert found.docs[0].doc['n'] == 1 and found.docs[2].doc['n'] == 2 and found.docs[1].status == 404

    new = models.NewDocument.from_dict({'n': 3})
    first = docs('create_document').sync_detailed(
        database, client=api, body=new, idempotency_key='"create-1"'
    )
    repeat = docs('create_document').sync_detailed(
        database, client=api, body=new, idempotency_key='"create-1"'
    )
    assert first.status_code == repeat.status_code == 201 and repeat.parsed.id == first.parsed.id
    assert (
        repeat.headers['etag'] == first.headers['etag']
        and repeat.headers['location'] == first.headers['location']
    )
    other = models.NewDocument.from_dict({'n': 4})
    reused = docs('create_document').sync(database, client=api, body=other, idempotency_key='"create-1"')
    assert isinstance(reused, models.Problem) and reused.status == 422
