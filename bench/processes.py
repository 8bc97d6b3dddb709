"""Processes of the benchmark: started, waited for (bounded), measured (CPU, memory), stopped."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[1]


class Service:
    """A long-running child process with its output in a log file."""

    def __init__(
        self,
        name: str,
        command: list[str],
        log_dir: Path,
        *,
        env: dict | None = None,
        stdin: bool = False,
        json_stdout: bool = False,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f'{name}.log'
        self._log = open(self.log_path, 'ab')  # noqa: SIM115  # closed by stop(), when the process is gone
        self.proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stderr=self._log,
            stdout=subprocess.PIPE if json_stdout else self._log,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            text=True,
        )

    def read_json(self, timeout: float = 60.0) -> dict:
        """The next JSON line the process prints (its port, an answer), within `timeout`."""
        assert self.proc.stdout is not None, 'started with json_stdout'
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ''
        if not line:
            raise RuntimeError(f'{self.name}: no answer within {timeout} s; log:\n{self.log_tail()}')
        return json.loads(line)

    def ask(self, command: str) -> dict:
        assert self.proc.stdin is not None, 'started with stdin'
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()
        return self.read_json()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its live descendants (gunicorn workers)."""
        try:
            root = psutil.Process(self.proc.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in tree:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def children(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.proc.pid).children(recursive=True)]

    def log_tail(self, lines: int = 30) -> str:
        return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        stop_process(self.proc, timeout)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()
        self._log.close()


def wait_http(url: str, service: Service, timeout: float = 60.0, **kwargs) -> None:
    """Poll `url` until it answers 200, the service dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5, **kwargs).status_code == 200:
                return
        except requests.RequestException:
            pass
        try:
            service.proc.wait(timeout=0.1)  # the poll interval, and "did it die?"
            break
        except subprocess.TimeoutExpired:
            pass
    raise RuntimeError(f'{service.name} did not answer {url}; log:\n{service.log_tail()}')


def proc_status_kb(pid: int, field: str) -> int:
    """A memory figure from /proc/PID/status (VmRSS, VmHWM) in KiB."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss(pid: int) -> bool:
    """Make VmHWM start again from the current RSS (Linux: clear_refs 5); False if not allowed."""
    try:
        Path(f'/proc/{pid}/clear_refs').write_text('5')
        return True
    except OSError:
        return False


def base_env(**extra: str) -> dict:
    """A small, explicit environment: the venv first on PATH, nothing of the caller's config."""
    venv_bin = os.path.dirname(sys.executable)
    keep = {k: os.environ[k] for k in ('HOME', 'LANG', 'TMPDIR') if k in os.environ}
    return dict(keep, PATH=venv_bin + os.pathsep + os.environ.get('PATH', ''), PYTHONUNBUFFERED='1', **extra)
