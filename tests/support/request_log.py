"""Reading the app's request log lines (logger couchgate.request) from pytest's caplog."""

from __future__ import annotations

import logging


def capture_request_lines(caplog) -> None:
    caplog.set_level(logging.INFO, logger='couchgate.request')


def request_lines(caplog) -> list[dict]:
    """The fields of every request log line captured so far."""
    return [r.fields for r in caplog.records if r.name == 'couchgate.request']


def logged_total(caplog, field: str) -> int:
    return sum(line[field] for line in request_lines(caplog))


def export_lines(caplog) -> list[dict]:
    """The fields of the lines an export logs when its stream ends."""
    return [r.fields for r in caplog.records if r.name == 'couchgate.request' and r.msg == 'export']
