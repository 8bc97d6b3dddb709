"""The Procfile's `web` command run as Heroku runs it, in a subprocess whose output the tests read."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from api.cli.procfile import process_command, shell_command
from tests.support.pouch import free_port
from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# Variables of the outer environment that would change what the process does (api/config/settings.py's,
# gunicorn's GUNICORN_CMD_ARGS, prometheus_client's directory, requests' CA bundle).
_OURS = re.compile(
    r'^(CLOUDANT_|GUNICORN_|API_|CORS_|EXPORT_|WEB_CONCURRENCY$|PORT$|PRELOAD_APP$|LOG_LEVEL$'
    r'|PROMETHEUS_MULTIPROC_DIR$|REQUESTS_CA_BUNDLE$)'
)
_BOOTED = re.compile(r'Booting worker with pid: (\d+)')


def clean_env(**env: str) -> dict[str, str]:
    """The test's environment without couchgate's and gunicorn's variables, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not _OURS.match(k)}
    # The venv's bin first, so `gunicorn` and `python` are the pinned ones even outside `make test`.
    base['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), base.get('PATH', '')])
    return dict(base, **env)


class WebProcess:
    """`sh -c '<web: line>'` in its own process group; stdout and stderr collected as lines."""

    def __init__(self, process_type: str = 'web', **env: str) -> None:
        self.port = int(env.setdefault('PORT', str(free_port())))
        self.url = f'http://127.0.0.1:{self.port}'
        self.command = process_command(process_type, REPO_ROOT / 'Procfile')
        # Unbuffered: whatever a library print()s is read even from a worker that is then killed.
        self._env = clean_env(**{'PYTHONUNBUFFERED': '1', **env})
        self._lines: dict[str, list[str]] = {'stdout': [], 'stderr': []}
        self._changed = threading.Condition()
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> WebProcess:
        # exec (shell_command): the shell becomes gunicorn's master, as on a dyno.
        self._proc = subprocess.Popen(
            ['/bin/sh', '-c', shell_command(self.command)],
            cwd=REPO_ROOT,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (('stdout', self._proc.stdout), ('stderr', self._proc.stderr))
        ]
        for reader in self._readers:
            reader.start()
        return self

    @property
    def proc(self) -> subprocess.Popen:
        """The `sh -c` process (gunicorn's master once the shell execs), from the `with` block on."""
        if self._proc is None:
            raise RuntimeError('WebProcess is not started: use it as a context manager')
        return self._proc

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is not None and self.proc.poll() is None:
            self.send_signal(signal.SIGKILL)  # a test failed half-way: leave nothing behind, at once
        # Still running after a test that passed: stopped as a dyno is, so its exit hooks run.
        stop_process(self.proc, STOP_TIMEOUT, group=True)
        for reader in self._readers:
            reader.join(10)

    def _read(self, name: str, stream) -> None:
        for line in stream:
            with self._changed:
                self._lines[name].append(line.rstrip('\n'))
                self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = START_TIMEOUT, what: str = 'condition'):
        """Wait until predicate() is truthy (re-checked on each new output line); returns its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (value := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reading()):
                    raise AssertionError(
                        f'{what}: not within {timeout:g} s (exit code {self.proc.poll()})\n'
                        f'stderr tail:\n' + '\n'.join(self._lines['stderr'][-20:])
                    )
                self._changed.wait(min(remaining, 0.5))
            return value

    def _reading(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def wait_ready(self, path: str = '/readyz', timeout: float = START_TIMEOUT) -> None:
        """Poll `path` until it answers 200: /readyz, the upstream is reachable through a worker;
        /healthz, a worker answers (without a request to the upstream, for tests that count them)."""
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            while True:
                try:
                    if session.get(self.url + path, timeout=10).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError(
                        f'{self.url}{path} not 200 within {timeout:g} s '
                        f'(exit code {self.proc.poll()}):\n{self.stderr}'
                    )
                # Doubles as the poll interval: wakes at once on new output (a worker booted).
                with self._changed:
                    self._changed.wait(0.2)

    def send_signal(self, sig: int) -> None:
        """Signal every process of the group, as Heroku signals every process of a dyno."""
        os.killpg(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Signal the group, wait for the master and for all output; returns the exit code."""
        self.send_signal(sig)
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    @property
    def pid(self) -> int:
        """The master's pid: the shell execs the web line, so it is gunicorn's master."""
        return self.proc.pid

    @property
    def stderr(self) -> str:
        with self._changed:
            return '\n'.join(self._lines['stderr'])

    def output(self) -> str:
        """Everything gunicorn, the app and every library wrote so far: stdout, then stderr."""
        with self._changed:
            return '\n'.join(self._lines['stdout'] + self._lines['stderr'])

    def json_lines(self) -> list[dict]:
        """Every JSON object written on stdout so far (app, access and server lines)."""
        with self._changed:
            lines = list(self._lines['stdout'])
        return [json.loads(line) for line in lines if line.startswith('{')]

    def lines(self, logger: str, message: str | None = None) -> list[dict]:
        return [
            line
            for line in self.json_lines()
            if line['logger'] == logger and (message is None or line['message'] == message)
        ]

    def worker_pids(self) -> list[int]:
        """Pids of the workers booted so far, in order."""
        with self._changed:
            return [int(m.group(1)) for line in self._lines['stderr'] if (m := _BOOTED.search(line))]


@contextlib.contextmanager
def serving_database(pouch, couch_admin, db: str, **env: str) -> Iterator[WebProcess]:
    """The web line, one worker of 4 threads, over a fresh database `db` of the local server (process.db)."""
    couch_admin.put(db)
    try:
        with WebProcess(
            WEB_CONCURRENCY='1', GUNICORN_THREADS='4', CLOUDANT_URL=pouch.url, CLOUDANT_DATABASES=db, **env
        ) as process:
            process.wait_ready('/healthz')
            process.db = db  # type: ignore[attr-defined]
            yield process
    finally:
        couch_admin.delete(db)
