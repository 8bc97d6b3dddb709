"""`make run` itself, in a copy of the repository: serves, then stops on Ctrl-C leaving nothing behind."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.gunicorn_process import REPO_ROOT, clean_env
from tests.support.pouch import free_port

INSTALLED = ('.venv', 'node_modules')  # linked, not copied: the copy must not reinstall anything


@pytest.fixture
def repo_copy(tmp_path):
    copy = tmp_path / 'couchgate'
    # copy2 keeps modification times, so make sees the linked installs as up to date.
    shutil.copytree(
        REPO_ROOT,
        copy,
        ignore=shutil.ignore_patterns(*INSTALLED, '.data', '.git', '__pycache__', '*.egg-info', 'build'),
    )
    for name in INSTALLED:
        (copy / name).symlink_to(REPO_ROOT / name, target_is_directory=True)
    return copy


def make_env(**env):
    # Nothing of an outer `make test` (its flags, its CLOUDANT_DATABASES) leaks into the inner make.
    return {k: v for k, v in clean_env(**env).items() if not k.startswith(('MAKE', 'MFLAGS'))}


def descendants(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of every live process below `root`: honcho gives each child its own session."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        started[pid] = fields[19]
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add((child, started[child]))
            todo.append(child)
    return found


def running(process: tuple[int, str]) -> bool:
    pid, started = process
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != 'Z'  # same process (no pid reuse), not a zombie


def listening_on(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (('tcp', 8), ('tcp6', 32)):
        for line in Path(f'/proc/net/{table}').read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(':')
            if state == '0A' and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # /proc writes each 32-bit word in host (little-endian) order.
                words = b''.join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
                found.add(socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, words))
    return found


def refuses(port: int) -> bool:
    try:
        socket.create_connection(('127.0.0.1', port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_make_run_serves_then_stops_on_ctrl_c_leaving_no_process(repo_copy, tmp_path):
    port, couch_port, redis_port, issuer_port = free_port(), free_port(), free_port(), free_port()
    env = make_env(
        PORT=str(port),
        COUCH_PORT=str(couch_port),
        REDIS_PORT=str(redis_port),
        DEV_ISSUER_PORT=str(issuer_port),
    )
    assert subprocess.run(['make', '-q', 'install'], cwd=repo_copy, env=env).returncode == 0, (
        'the copy would reinstall: run `make install` in the repository first'
    )
    log = tmp_path / 'make-run.log'
    with open(log, 'w') as out:
        make = subprocess.Popen(
            ['make', 'run'],
            cwd=repo_copy,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline, ready = time.monotonic() + 120, None
        while ready != 200:
            assert make.poll() is None and time.monotonic() < deadline, f'not ready:\n{log.read_text()}'
            try:
                ready = requests.get(f'http://127.0.0.1:{port}/readyz', timeout=10).status_code
            except requests.RequestException:
                time.sleep(0.2)  # the poll interval; readiness decides
        docs = requests.get(
            f'http://127.0.0.1:{port}/v1/foundbite/docs', timeout=10, headers={'Connection': 'close'}
        )
        # Per-user access out of the box: `make token` signs for the local development issuer.
        token = subprocess.run(
            ['make', '-s', 'token', 'SUB=alice'],
            cwd=repo_copy,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        mine = requests.post(
            f'http://127.0.0.1:{port}/v1/foundbite/docs',
            json={'note': 1},
            timeout=10,
            headers={'Authorization': f'Bearer {token}', 'Connection': 'close'},
        )
        # design/ deployed by the release phase: the demo's view answers at the local server itself.
        tags = requests.get(
            f'http://127.0.0.1:{couch_port}/foundbite/_design/places/_view/by_tag',
            params={'group': 'true'},
            timeout=30,
        )
        # Both workers up, so the snapshot below holds every process there will be.
        while log.read_text().count('Booting worker with pid') < 2:
            assert time.monotonic() < deadline, f'workers not booted:\n{log.read_text()}'
            time.sleep(0.05)
        processes = descendants(make.pid)
        addresses = {
            'PORT': listening_on(port),
            'COUCH_PORT': listening_on(couch_port),
            'REDIS_PORT': listening_on(redis_port),
        }
        started = time.monotonic()
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C does: the terminal signals the foreground group
        code = make.wait(60)
        stopped = time.monotonic() - started
        deadline = time.monotonic() + 10
        while any(map(running, processes)) and time.monotonic() < deadline:
            time.sleep(0.05)  # reparented processes may still be on their way out
        left = [p for p in processes if running(p)]
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    output = log.read_text()
    print(
        f'\nscenario 6: /readyz 200, '
        f'/v1/foundbite/docs {docs.status_code} ({len(docs.json()["rows"])} rows); '
        f'{len(processes)} processes under make; SIGINT -> make exit {code} after {stopped:.1f} s; '
        f'left behind {left}'
    )
    assert docs.status_code == 200 and len(docs.json()['rows']) == 25
    assert mine.status_code == 201 and mine.json()['id'].startswith('u:alice:'), mine.text
    assert not [row for row in docs.json()['rows'] if row['id'].startswith('_design/')]
    assert 'release: foundbite/_design/places created (views: by_cuisine_rating, by_tag)' in output
    assert tags.status_code == 200 and len(tags.json()['rows']) == 7  # the demo's seven tags, counted
    loopback = {'127.0.0.1'}
    assert addresses == {'PORT': loopback, 'COUCH_PORT': loopback, 'REDIS_PORT': loopback}  # by default
    # honcho, gunicorn's master and two workers, pouchdb-server, redis-server, the dev issuer
    assert len(processes) >= 7
    assert left == []
    assert 'SIGKILL' not in output  # honcho needed no forced kill: everything stopped on SIGTERM
    assert 'web.1 stopped (rc=0)' in output  # gunicorn's master exited cleanly
    assert refuses(port) and refuses(couch_port) and refuses(redis_port) and refuses(issuer_port)


@pytest.mark.parametrize('busy_name', ['COUCH_PORT', 'REDIS_PORT', 'DEV_ISSUER_PORT', 'PORT'])
def test_make_run_with_a_busy_port_says_so_in_one_line_and_starts_nothing(repo_copy, busy_name):
    ports = {
        'PORT': free_port(),
        'COUCH_PORT': free_port(),
        'REDIS_PORT': free_port(),
        'DEV_ISSUER_PORT': free_port(),
    }
    with socket.socket() as squatter:  # what a newcomer's own CouchDB or other app looks like
        squatter.bind(('127.0.0.1', ports[busy_name]))
        squatter.listen()
        run = subprocess.run(
            ['make', 'run'],
            cwd=repo_copy,
            env=make_env(**{name: str(port) for name, port in ports.items()}),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    others = [port for name, port in ports.items() if name != busy_name]
    ours = [line for line in run.stderr.splitlines() if not line.startswith('make: ***')]
    print(f'\nbusy {busy_name}: make exit {run.returncode}; stderr {run.stderr!r}')
    assert run.returncode != 0
    assert ours == [
        f'make run: port {ports[busy_name]} ({busy_name}) is in use on 127.0.0.1: stop what listens '
        f'there, or choose another port, e.g. {busy_name}={ports[busy_name] + 1} make run'
    ]
    assert 'honcho' not in run.stdout and 'demo:' not in run.stdout + run.stderr  # nothing started
    assert all(refuses(other) for other in others)
