"""The request's deadline upstream, and reading a streamed body within it, timed.

A read timeout bounds each socket read, not a body: an upstream that trickles its answer at 8 KB/s
never trips it. So bodies are read here, chunk by chunk, against one deadline per API request (per
batch for an export), and the time spent reading is credited to the request's upstream record.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import requests
from urllib3.exceptions import HTTPError, ReadTimeoutError

from api.upstream.connections import UpstreamRecord, current_record

CHUNK = 64 * 1024
SLACK = 0.01  # seconds: the shortest wait per read, and how far past the deadline a read may end


class DeadlinePassed(requests.exceptions.ReadTimeout):
    """The request's time upstream is up (a ReadTimeout, so the client gets the 504 problem)."""


def remaining(record: UpstreamRecord | None = None) -> float | None:
    """Seconds left before the deadline of the current request; None when it has none."""
    record = record if record is not None else current_record()
    if record is None or record.deadline is None:
        return None
    return record.deadline - time.monotonic()


def start(seconds: float, *, restart: bool = False) -> None:
    """Give the current request its deadline, `seconds` from its start (from now if `restart`)."""
    record = current_record()
    if record is not None and (restart or record.deadline is None):
        record.deadline = (time.monotonic() if restart else record.started) + seconds


def chunks(response: requests.Response) -> Iterator[bytes]:
    """The body of a streamed response, read incrementally; DeadlinePassed once the time is up."""
    raw = response.raw
    record = current_record()
    while True:
        left = remaining(record)
        if left is not None and left <= 0:
            raise DeadlinePassed('the request deadline passed while the body was read')
        sock = getattr(getattr(raw, 'connection', None), 'sock', None)
        if left is not None and sock is not None:
            # Each read waits at most until the deadline, not a whole read timeout from now. A
            # timeout already within SLACK of that is kept: settimeout() is a syscall that lets go
            # of the GIL (a thread hand-off per chunk, seen under load).
            current = sock.gettimeout()
            wanted = max(SLACK, min(left, current or left))
            if current is None or not wanted <= current <= wanted + SLACK:
                sock.settimeout(wanted)
        started = time.perf_counter()
        try:
            chunk = raw.read1(CHUNK, decode_content=True)
        except ReadTimeoutError:
            raise DeadlinePassed('the body did not arrive in time') from None
        except HTTPError as e:
            raise requests.exceptions.ChunkedEncodingError(str(e)) from None
        finally:
            if record is not None:
                record.seconds += time.perf_counter() - started
        if not chunk:
            return
        yield chunk
