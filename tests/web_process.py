"""The Procfile's web process (gunicorn, real workers) as a test resource."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.pouch import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0


class WebProcess:
    """`python -m api.procfile web` on a free port, with only the environment given."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = Path(workdir) / f'web-{self.port}.log'
        self._env = {
            # The venv's gunicorn, as `make run` would find it; nothing else leaks in.
            'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
            'HOME': os.environ.get('HOME', '/tmp'), 'LANG': 'C.UTF-8', 'PYTHONUNBUFFERED': '1',
            'PORT': str(self.port), **env}
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> WebProcess:
        with open(self.log_path, 'ab') as log:
            self._proc = subprocess.Popen([sys.executable, '-m', 'api.procfile', 'web'], cwd=REPO_ROOT,
                                          env=self._env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + '/healthz', timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            self._pause()
        raise RuntimeError(f'web process not up on {self.url}; log:\n{self.log_path.read_text()[-3000:]}')

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # the master: it stops its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_lines(self) -> list[dict]:
        """The JSON lines the app wrote so far (gunicorn's own lines are not JSON)."""
        lines = []
        for text in self.log_path.read_text(errors='replace').splitlines():
            if text.startswith('{'):
                lines.append(json.loads(text))
        return lines

    def wait_for_log(self, predicate, timeout: float = 30.0) -> dict:
        """The first JSON line that satisfies `predicate`, polling until `timeout`."""
        def first_match():
            return next((line for line in self.log_lines() if predicate(line)), None)
        return self.wait_for(first_match, timeout)

    def wait_for(self, condition, timeout: float = 30.0):
        """Poll `condition()` until it returns something true (returned) or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if time.monotonic() > deadline:
                raise AssertionError(f'not within {timeout} s; log:\n{self.log_path.read_text()[-3000:]}')
            self._pause()
        return result

    def _pause(self) -> None:
        """A poll interval that also notices a web process that died."""
        try:
            code = self._proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            return
        raise AssertionError(f'web process exited ({code}); log:\n{self.log_path.read_text()[-3000:]}')
