"""Stopping a child process the tests (or the benchmark) started: politely first, then for sure."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process(proc: subprocess.Popen, timeout: float, *, group: bool = False) -> int:
    """SIGTERM, wait up to `timeout` s, then SIGKILL; returns the exit code.

    With `group`, every process of the child's group is signalled (a child started with
    start_new_session=True leads its own group), as Heroku signals every process of a dyno.
    """

    def send(sig: int) -> None:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    if proc.poll() is None:
        send(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
    return proc.wait()
