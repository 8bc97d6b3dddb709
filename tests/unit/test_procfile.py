"""The Procfile: its lines as Heroku and honcho run them (api.cli.procfile), and app.json beside it."""

import subprocess
import sys
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from api.cli.procfile import PROCFILE, ProcessNotFound, process_command, shell_command
from tests.support.gunicorn_process import REPO_ROOT


def write_procfile(tmp_path, text):
    path = tmp_path / 'Procfile'
    path.write_text(text)
    return path


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
    assert list(processes) == ['web', 'couch', 'redis', 'issuer']
    assert processes['web'].endswith('exec python -m api.cli.procfile web')
    assert 'REDIS_URL="redis://127.0.0.1:${REDIS_PORT:-6379}/0"' in processes['web']
    assert 'bin/local-couch' in processes['couch']
    assert 'bin/local-redis' in processes['redis']
    assert 'api.cli.dev_issuer serve --port ${DEV_ISSUER_PORT:-5556}' in processes['issuer']


@pytest.mark.parametrize(
    'command',
    [
        'gunicorn --config gunicorn.conf.py api.wsgi:app',
        'gunicorn --bind [::]:${PORT} app:app',
    ],
)
def test_a_simple_command_replaces_the_shell(command):
    assert shell_command(command) == f'exec {command}'


@pytest.mark.parametrize(
    'command',
    [
        'python -m api.cli.demo && gunicorn app:app',
        'migrate; serve',
        'serve | tee log',
        'FOO=1 serve',
        '(cd sub && serve)',
        'if true; then serve; fi',
    ],
)
def test_lists_pipelines_and_assignments_run_as_written(command):
    assert shell_command(command) == command


def test_running_a_process_execs_it_in_the_procfile_directory(tmp_path):
    (tmp_path / 'show.py').write_text('import os\nprint(os.getpid(), os.getcwd())\n')
    path = write_procfile(tmp_path, f'show: {sys.executable} show.py\n')
    runner = subprocess.Popen(
        [sys.executable, '-m', 'api.cli.procfile', 'show', '--procfile', str(path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = runner.communicate(timeout=30)
    pid, cwd = out.split()
    # Same pid: no shell or Python parent is left in between to swallow SIGTERM.
    assert int(pid) == runner.pid
    assert Path(cwd).resolve() == tmp_path.resolve()
    assert runner.returncode == 0


def test_running_a_missing_process_exits_2_with_a_clear_message(tmp_path):
    path = write_procfile(tmp_path, 'worker: true\n')
    result = subprocess.run(
        [sys.executable, '-m', 'api.cli.procfile', 'web', '--procfile', str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "no 'web' process" in result.stderr


def test_the_procfile_runs_the_release_phase():
    # What app.json says of each variable: tests/unit/test_config_reference.py.
    assert process_command('release', PROCFILE) == 'python -m api.release'
