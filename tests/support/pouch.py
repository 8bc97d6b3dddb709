"""The local CouchDB-compatible server (pouchdb-server) as a test resource."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
POUCHDB_SERVER = REPO_ROOT / 'node_modules' / 'pouchdb-server' / 'bin' / 'pouchdb-server'
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class PouchServer:
    """A pouchdb-server process on 127.0.0.1, started and stopped by the tests."""

    def __init__(self, workdir: str | Path | None = None, *, in_memory: bool = True) -> None:
        # It writes config.json and log.txt into its cwd: give it a directory of its own.
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix='pouch-'))
        self.in_memory = in_memory
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = self.workdir / 'server.log'
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> PouchServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        data_dir = self.workdir / 'data'
        data_dir.mkdir(parents=True, exist_ok=True)
        # Without --unhandled-rejections=warn some rejected requests crash it.
        cmd = [
            'node',
            '--unhandled-rejections=warn',
            str(POUCHDB_SERVER),
            '-p',
            str(self.port),
            '-o',
            '127.0.0.1',
            '-d',
            str(data_dir),
            '-n',
        ]
        if self.in_memory:
            cmd.append('-m')
        with open(self.log_path, 'ab') as log:
            self._proc = proc = subprocess.Popen(
                cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_until_up(proc)

    def _wait_until_up(self, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if (
                    requests.get(self.url + '/', timeout=2, headers={'Connection': 'close'}).status_code
                    == 200
                ):
                    return
            except requests.RequestException:
                pass
            # It logs EADDRINUSE but stays alive, so the exit check alone would not see it.
            if 'is already in use' in self.log_tail():
                break
            try:
                # Doubles as the poll interval and as the "did it die?" check.
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
        code = proc.poll()
        self.stop()
        raise RuntimeError(
            f'pouchdb-server did not come up on {self.url} (exit code {code}); log tail:\n{self.log_tail()}'
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc, STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again on the same port (in-memory data is lost, config.json stays)."""
        self.stop()
        self.start()

    @property
    def died(self) -> bool:
        """Whether the process was started and has exited on its own (a crash)."""
        return self._proc is not None and self._proc.poll() is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors='replace')
        except FileNotFoundError:
            return ''
        return '\n'.join(text.splitlines()[-lines:])


class CouchAdmin:
    """Direct, uncounted access to the local server for test set-up and checks."""

    def __init__(self, base_url: str, *, auth: tuple[str, str] | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = auth
        # The server drops idle keep-alive connections after ~5 s; a fresh connection
        # per call avoids ever racing that close. The timeout matters too: some admin
        # requests without credentials hang once an admin exists.
        self.session.headers['Connection'] = 'close'

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault('timeout', self.timeout)
        return self.session.request(method, f'{self.base_url}/{path.lstrip("/")}', **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request('GET', path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.request('PUT', path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request('POST', path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request('DELETE', path, **kwargs)

    def close(self) -> None:
        self.session.close()
