"""The Procfile's `release:` line against a fresh server that has an admin, behind the TLS front."""

import json
import subprocess
import uuid

import pytest

from api.cli.procfile import process_command, shell_command
from tests.support.gunicorn_process import REPO_ROOT, clean_env
from tests.support.pouch import CouchAdmin, PouchServer, free_port
from tests.support.tls_front import TLSFront

ADMIN, PASSWORD = 'admin', 'Corr3ct-h0rse-' + uuid.uuid4().hex[:8]


@pytest.fixture(scope='module')
def admin_server(tmp_path_factory, server_ssl_context):
    """Its own pouchdb-server (the session's is an admin party) with an admin, behind its own front."""
    with PouchServer(tmp_path_factory.mktemp('release-pouch')) as server:
        response = CouchAdmin(server.url).put(f'_config/admins/{ADMIN}', data=json.dumps(PASSWORD))
        assert response.status_code == 200, response.text
        with TLSFront(('127.0.0.1', server.port), server_ssl_context) as front:
            yield CouchAdmin(server.url, auth=(ADMIN, PASSWORD)), front


def run_release(front_url, ca_bundle, databases, **env):
    command = shell_command(process_command('release', REPO_ROOT / 'Procfile'))
    env = clean_env(
        **dict(
            {
                'CLOUDANT_URL': front_url,
                'CLOUDANT_CA_BUNDLE': ca_bundle,
                'CLOUDANT_DATABASES': ','.join(databases),
            },
            **env,
        )
    )
    return subprocess.run(
        ['/bin/sh', '-c', command], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def state(admin, databases):
    """What a second run must not change: the databases and their update sequences."""
    return admin.get('_all_dbs').json(), [admin.get(db).json()['update_seq'] for db in databases]


def test_release_creates_the_databases_then_changes_nothing(admin_server, ca_bundle):
    admin, front = admin_server
    databases = ['orders' + uuid.uuid4().hex[:6], 'menus' + uuid.uuid4().hex[:6]]
    assert not set(databases) & set(admin.get('_all_dbs').json())  # fresh: nothing there yet
    first = run_release(front.url, ca_bundle, databases, CLOUDANT_USERNAME=ADMIN, CLOUDANT_PASSWORD=PASSWORD)
    after_first, requests_first = state(admin, databases), front.request_count
    second = run_release(front.url, ca_bundle, databases, CLOUDANT_USERNAME=ADMIN, CLOUDANT_PASSWORD=PASSWORD)
    second_methods = [r.method for r in front.requests[requests_first:]]
    print(
        f'\nscenario 5: first run exit {first.returncode}: {first.stdout.splitlines()}; '
        f'second run exit {second.returncode}: {second.stdout.splitlines()}, methods {second_methods}'
    )
    assert first.returncode == 0, first.stderr
    assert [f'database {db} at {front.url} created' in first.stdout for db in databases] == [True, True]
    assert set(databases) <= set(after_first[0])
    assert second.returncode == 0, second.stderr
    assert [f'database {db} at {front.url} exists' in second.stdout for db in databases] == [True, True]
    assert 'done, 0 created, 2 already there' in second.stdout
    assert second_methods == ['GET', 'GET']  # looked, wrote nothing
    assert state(admin, databases) == after_first


@pytest.mark.parametrize(
    'env, expected',
    [
        (
            {'CLOUDANT_USERNAME': ADMIN, 'CLOUDANT_PASSWORD': 'Wr0ng-' + PASSWORD},
            'HTTP 401 unauthorized reading database {db} at {url} (check the credentials)',
        ),
        # Creating without credentials is a request pouchdb-server never answers: the timeout ends it.
        ({'CLOUDANT_READ_TIMEOUT': '1'}, 'no answer in time creating database {db} at {url}'),
    ],
)
def test_release_fails_with_one_line_naming_status_and_database_never_the_secret(
    admin_server, ca_bundle, env, expected
):
    admin, front = admin_server
    db = 'orders' + uuid.uuid4().hex[:6]
    result = run_release(front.url, ca_bundle, [db], **env)
    print(f'\nscenario 5: exit {result.returncode}, stderr {result.stderr!r}')
    assert result.returncode == 1
    assert result.stderr.splitlines() == ['release: failed: ' + expected.format(db=db, url=front.url)]
    assert PASSWORD not in result.stdout + result.stderr
    assert db not in admin.get('_all_dbs').json()


def test_release_without_databases_only_checks_the_server(admin_server, ca_bundle):
    _, front = admin_server
    result = run_release(front.url, ca_bundle, [], CLOUDANT_USERNAME=ADMIN, CLOUDANT_PASSWORD=PASSWORD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f'release: upstream {front.url} answers; CLOUDANT_DATABASES is empty, nothing to create'
    ]


def test_release_fails_with_one_line_when_nothing_listens(ca_bundle):
    url = f'https://127.0.0.1:{free_port()}'
    result = run_release(url, ca_bundle, ['orders'], CLOUDANT_USERNAME=ADMIN, CLOUDANT_PASSWORD=PASSWORD)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f'release: failed: cannot connect reading database orders at {url}']
    assert PASSWORD not in result.stdout + result.stderr


def test_release_with_a_bad_setting_names_the_variable(ca_bundle):
    result = run_release('https://127.0.0.1:1', ca_bundle, ['_users'], CLOUDANT_PASSWORD=PASSWORD)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "release: configuration error: CLOUDANT_DATABASES: '_users' is not an allowed database name"
    ]


def test_release_deploys_design_then_says_nothing_changed(admin_server, ca_bundle, tmp_path):
    admin, front = admin_server
    db = 'places' + uuid.uuid4().hex[:6]
    (tmp_path / db).mkdir()
    view = {
        'map': 'function (doc) { (doc.tags || []).forEach(function (t) { emit(t, 1); }); }',
        'reduce': '_count',
    }
    (tmp_path / db / 'places.json').write_text(json.dumps({'views': {'by_tag': view}}))
    index = {'index': {'fields': ['rating']}, 'name': 'by_rating', 'ddoc': 'find-indexes', 'type': 'json'}
    (tmp_path / db / 'indexes.json').write_text(json.dumps([index]))
    env = {'CLOUDANT_USERNAME': ADMIN, 'CLOUDANT_PASSWORD': PASSWORD, 'DESIGN_DIR': str(tmp_path)}
    first = run_release(front.url, ca_bundle, [db], **env)
    second = run_release(front.url, ca_bundle, [db], **env)
    print(f'\nrelease of design/: first run {first.stdout.splitlines()}; then {second.stdout.splitlines()}')
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f'release: database {db} at {front.url} created',
        f'release: {db}/_design/places created (views: by_tag)',
        f'release: {db}/_design/find-indexes index by_rating created (fields: rating)',
        'release: design: 2 changed, 0 unchanged',
        'release: done, 1 created, 0 already there',
    ]
    assert second.returncode == 0, second.stderr
    assert 'release: design: nothing changed, 2 unchanged (as in design/)' in second.stdout
    assert admin.get(f'{db}/_design/places').json()['views'] == {'by_tag': view}


def test_a_bad_design_file_fails_the_release_in_one_line_before_any_request(
    admin_server, ca_bundle, tmp_path
):
    _, front = admin_server
    db = 'places' + uuid.uuid4().hex[:6]
    (tmp_path / db).mkdir()
    (tmp_path / db / 'places.json').write_text('{"views": {"by_tag": {"reduce": "_count"}}}')
    requests_before = front.request_count
    result = run_release(
        front.url,
        ca_bundle,
        [db],
        CLOUDANT_USERNAME=ADMIN,
        CLOUDANT_PASSWORD=PASSWORD,
        DESIGN_DIR=str(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f'release: failed: {tmp_path / db / "places.json"}: view "by_tag" needs "map" (JavaScript source)'
    ]
    assert front.request_count == requests_before
