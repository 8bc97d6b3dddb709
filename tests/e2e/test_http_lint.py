"""REDbot, the HTTP linter, against real gunicorn: no warning on what caches and clients rely on.

REDbot fetches each URL itself and follows up with its own requests (gzip negotiation,
If-None-Match, ranges), all to this machine's loopback: it runs offline. tests/unit's
test_http_semantics.py runs httplint (REDbot's checks of one message) on the test client's answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.gunicorn_process import WebProcess

REDBOT = Path(sys.executable).parent / 'redbot'
PATHS = [
    '/v1/{db}/docs?limit=100&include_docs=true',
    '/v1/{db}/docs/bite-0001',
    '/openapi.json',
    '/docs',
    '/docs/assets/init.js',
    '/docs/assets/swagger-ui.css',
    '/docs/assets/swagger-ui-bundle.js',
]


@pytest.fixture(scope='module')
def server(tls_front_server, ca_bundle, couch_admin):
    db = 'lint' + uuid.uuid4().hex[:12]
    assert couch_admin.put(db).status_code == 201
    docs = [{'_id': f'bite-{n:04d}', 'name': f'dish {n}', 'tags': ['quick', 'spicy']} for n in range(1, 101)]
    assert couch_admin.post(f'{db}/_bulk_docs', json={'docs': docs}).status_code == 201
    try:
        with WebProcess(
            WEB_CONCURRENCY='1',
            CLOUDANT_URL=tls_front_server.url,
            CLOUDANT_CA_BUNDLE=ca_bundle,
            CLOUDANT_DATABASES=db,
        ) as gunicorn:
            gunicorn.wait_ready('/healthz')
            yield gunicorn, db
    finally:
        couch_admin.delete(db)


@pytest.mark.parametrize('path', PATHS)
def test_redbot_finds_nothing_to_warn_about(server, path):
    web, db = server
    run = subprocess.run(
        [str(REDBOT), '-o', 'har', web.url + path.format(db=db)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    notes = [note for entry in json.loads(run.stdout)['log']['entries'] for note in entry['_red_messages']]
    assert notes, 'REDbot said nothing at all: it did not check'
    warnings = [
        f'{n["level"]} {n["note_id"]}: {n["summary"]}' for n in notes if n['level'] in ('WARN', 'BAD')
    ]
    assert warnings == []
