"""couchgate under gunicorn, as the Procfile runs it, with everything it prints captured."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.pouch import REPO_ROOT, free_port

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
# Settings a test must not inherit from the shell or the Makefile (which exports CLOUDANT_DATABASES).
_OURS = ('CLOUDANT_', 'API_', 'CORS_', 'GUNICORN_', 'LOG_LEVEL', 'PORT', 'WEB_CONCURRENCY', 'REQUESTS_CA_BUNDLE')


class Gunicorn:
    """`gunicorn --config gunicorn.conf.py api.wsgi:app` on a free port; `output()` is all it printed."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = Path(workdir) / f'gunicorn-{self.port}.log'
        base = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        self._env = dict(base, WEB_CONCURRENCY='1', GUNICORN_THREADS='2', PYTHONUNBUFFERED='1', **env,
                         PORT=str(self.port))
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        with open(self.log_path, 'wb') as log:
            self._proc = subprocess.Popen(
                [sys.executable, '-m', 'gunicorn', '--config', 'gunicorn.conf.py', 'api.wsgi:app'],
                cwd=REPO_ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if requests.get(f'{self.url}/healthz', timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            try:
                self._proc.wait(timeout=0.1)  # the poll interval, and "did it die?"
                break
            except subprocess.TimeoutExpired:
                pass
        self.__exit__()
        raise RuntimeError(f'gunicorn did not come up on {self.url}:\n{self.output()[-3000:]}')

    def __exit__(self, *exc_info) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def output(self) -> str:
        """Everything gunicorn, the app and every library wrote to stdout and stderr."""
        return self.log_path.read_text(encoding='utf-8', errors='replace')
