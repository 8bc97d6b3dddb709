"""Waiting for a condition in tests: poll it, with a deadline, never sleep a fixed time instead."""

from __future__ import annotations

import time

DEADLINE = 60.0  # generous, for a loaded machine: a passing wait ends as soon as its condition holds


def wait_for(condition, what: str, deadline: float = DEADLINE, interval: float = 0.05) -> None:
    """Return once condition() is true; fail naming `what` if it is not within `deadline` seconds."""
    give_up = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < give_up, f'timed out after {deadline} s waiting for {what}'
        time.sleep(interval)  # the poll interval; the condition, not the clock, decides
