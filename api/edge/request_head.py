"""A request head as its bytes arrive: complete at the blank line, refused past a byte cap.

gunicorn's worker (api/serving/worker.py) feeds it what its poller reads, so that no thread waits
for a slow client; the complete head then goes to gunicorn's own parser, which judges its syntax.
"""

from __future__ import annotations

import enum

# A 1,024-character id of four-byte characters is 12,288 bytes percent-encoded, and a `next` link
# carries two of them (start_key, end_key): 32 KiB leaves room for the rest of the request line.
REQUEST_LINE_LIMIT = 32 * 1024
# The whole head: the request line plus header fields (gunicorn still caps each field at 8190 bytes).
HEAD_LIMIT = 64 * 1024


class Verdict(enum.Enum):
    """What is known of the head so far."""

    INCOMPLETE = 'incomplete'
    COMPLETE = 'complete'  # or malformed in a way gunicorn's parser will name (a bare LF)
    LINE_TOO_LONG = 'line-too-long'
    HEAD_TOO_LARGE = 'head-too-large'


class RequestHead:
    """The bytes received of one request head, scanned once each however slowly they come."""

    def __init__(self, line_limit: int = REQUEST_LINE_LIMIT, head_limit: int = HEAD_LIMIT) -> None:
        self.data = bytearray()
        self._line_limit = line_limit
        self._head_limit = head_limit
        self._line_end = -1

    def feed(self, data: bytes) -> Verdict:
        """Add received bytes; the verdict on everything received so far."""
        start = len(self.data)
        self.data += data
        # One CRLF before the request line is allowed (RFC 9112 2.2), as gunicorn's parser allows it.
        first = 2 if self.data.startswith(b'\r\n') else 0
        if self._line_end < 0:
            found = self.data.find(b'\r\n', max(first, start - 1))
            self._line_end = found
            line_length = (found if found >= 0 else len(self.data)) - first
            if line_length > self._line_limit:
                return Verdict.LINE_TOO_LONG
        if _bare_lf(self.data, start):
            return Verdict.COMPLETE  # it will never end with CRLF CRLF: gunicorn's parser refuses it
        end = self.data.find(b'\r\n\r\n', max(0, start - 3))
        length = (end + 4) if end >= 0 else len(self.data)
        if length > self._head_limit:
            return Verdict.HEAD_TOO_LARGE
        return Verdict.COMPLETE if end >= 0 else Verdict.INCOMPLETE


def _bare_lf(data: bytearray, start: int) -> bool:
    """Whether an LF not preceded by CR arrived at or after `start`."""
    at = data.find(b'\n', start)
    while at >= 0:
        if at == 0 or data[at - 1] != 0x0D:
            return True
        at = data.find(b'\n', at + 1)
    return False
