"""The developer tooling: running Procfile lines (api.cli.procfile) and seeding demo data (api.cli.demo)."""

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from api.cli import demo
from api.cli.procfile import PROCFILE, ProcessNotFound, process_command, shell_command
from tests.support.pouch import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_procfile(tmp_path, text):
    path = tmp_path / 'Procfile'
    path.write_text(text)
    return path


# --- api.cli.procfile -------------------------------------------------------------------

def test_process_command_returns_the_named_line_ignoring_comments_and_blanks(tmp_path):
    path = write_procfile(tmp_path, '# web: not this\n\nworker: python -m jobs\nweb:   gunicorn app:app  \n')
    assert process_command('web', path) == 'gunicorn app:app'
    assert process_command('worker', str(path)) == 'python -m jobs'


def test_process_command_names_the_processes_it_has_when_one_is_missing(tmp_path):
    path = write_procfile(tmp_path, 'worker: python -m jobs\nclock: python -m clock\n')
    with pytest.raises(ProcessNotFound, match=r"no 'web' process \(it has: worker, clock\)"):
        process_command('web', path)


def test_the_real_procfile_serves_the_wsgi_app_with_the_repo_gunicorn_config():
    assert PROCFILE == REPO_ROOT / 'Procfile'
    command = process_command('web')
    assert command.split()[0] == 'gunicorn'
    assert '--config gunicorn.conf.py' in command
    assert command.split()[-1] == 'api.wsgi:app'


def test_the_dev_procfile_lists_web_first_so_honcho_gives_it_port():
    processes = parse_procfile((REPO_ROOT / 'Procfile.dev').read_text()).processes
    assert list(processes) == ['web', 'couch']
    assert processes['web'].endswith('exec python -m api.cli.procfile web')
    assert 'bin/local-couch' in processes['couch']


@pytest.mark.parametrize('command', [
    'gunicorn --config gunicorn.conf.py api.wsgi:app',
    'gunicorn --bind [::]:${PORT} app:app',
])
def test_a_simple_command_replaces_the_shell(command):
    assert shell_command(command) == f'exec {command}'


@pytest.mark.parametrize('command', [
    'python -m api.cli.demo && gunicorn app:app',
    'migrate; serve',
    'serve | tee log',
    'FOO=1 serve',
    '(cd sub && serve)',
    'if true; then serve; fi',
])
def test_lists_pipelines_and_assignments_run_as_written(command):
    assert shell_command(command) == command


def test_running_a_process_execs_it_in_the_procfile_directory(tmp_path):
    (tmp_path / 'show.py').write_text('import os\nprint(os.getpid(), os.getcwd())\n')
    path = write_procfile(tmp_path, f'show: {sys.executable} show.py\n')
    runner = subprocess.Popen([sys.executable, '-m', 'api.cli.procfile', 'show', '--procfile', str(path)],
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    out, _ = runner.communicate(timeout=30)
    pid, cwd = out.split()
    # Same pid: no shell or Python parent is left in between to swallow SIGTERM.
    assert int(pid) == runner.pid
    assert Path(cwd).resolve() == tmp_path.resolve()
    assert runner.returncode == 0


def test_running_a_missing_process_exits_2_with_a_clear_message(tmp_path):
    path = write_procfile(tmp_path, 'worker: true\n')
    result = subprocess.run([sys.executable, '-m', 'api.cli.procfile', 'web', '--procfile', str(path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "no 'web' process" in result.stderr


# --- api.cli.demo -----------------------------------------------------------------------

def test_demo_documents_are_deterministic_and_numbered():
    assert demo.bite(7) == demo.bite(7)
    assert demo.bite(1)['_id'] == 'bite-0001'
    assert demo.bite(100)['_id'] == 'bite-0100'
    assert set(demo.bite(3)) >= {'name', 'cuisine', 'price', 'rating', 'tags'}


def test_redact_drops_user_and_password():
    assert demo.redact('https://me:s3cret@acct.cloudant.com:443/x') == 'https://acct.cloudant.com:443/x'
    assert demo.redact('http://127.0.0.1:5984') == 'http://127.0.0.1:5984'


def test_waiting_for_a_server_that_is_not_there_gives_up_after_the_deadline():
    url = f'http://127.0.0.1:{free_port()}/'
    started = time.monotonic()
    with pytest.raises(demo.ServerUnavailable, match='within 0.5 s'):
        demo.wait_for_server(demo.requests.Session(), url, 0.5)
    assert time.monotonic() - started < 5


def test_a_failed_run_never_prints_the_password(capsys):
    url = f'http://someone:hunter2@127.0.0.1:{free_port()}'
    assert demo.main(['--url', url, '--wait', '0']) == 1
    out, err = capsys.readouterr()
    assert 'hunter2' not in out + err
    assert 'someone' not in out + err


@pytest.mark.integration
def test_seeding_twice_adds_the_documents_once(pouch, make_db, couch_admin):
    db = make_db()
    assert demo.seed(pouch.url, db, count=25) == (25, 25)
    assert demo.seed(pouch.url, db, count=25) == (25, 0)
    rows = couch_admin.get(f'{db}/_all_docs').json()['rows']
    assert [row['id'] for row in rows] == [f'bite-{n:04d}' for n in range(1, 26)]


@pytest.mark.integration
def test_seeding_creates_a_missing_database(pouch, couch_admin):
    db = 'demo' + uuid.uuid4().hex[:12]
    try:
        assert demo.seed(pouch.url, db, count=3) == (3, 3)
    finally:
        couch_admin.delete(db)


@pytest.mark.integration
def test_seeding_restores_a_deleted_demo_document(pouch, make_db, couch_admin):
    db = make_db()
    demo.seed(pouch.url, db, count=5)
    rev = couch_admin.get(f'{db}/bite-0002').json()['_rev']
    assert couch_admin.delete(f'{db}/bite-0002', params={'rev': rev}).status_code == 200
    assert demo.seed(pouch.url, db, count=5) == (5, 1)


@pytest.mark.integration
def test_the_command_prints_one_line_with_the_count(pouch, make_db, capsys):
    db = make_db()
    assert demo.main(['--url', pouch.url, '--db', db, '--count', '3']) == 0
    assert demo.main(['--url', pouch.url, '--db', db, '--count', '3']) == 0
    assert capsys.readouterr().out.splitlines() == [
        f'demo: {db} has 3 documents (added 3)',
        f'demo: {db} has 3 documents (added 0)',
    ]
