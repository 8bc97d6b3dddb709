"""JSON log lines on stdout: one object per line, easy to read in `heroku logs`."""

from __future__ import annotations

import json
import logging
import sys
import time

from ibm_cloud_sdk_core.logger import get_logger as sdk_logger

# One encoder for every line: json.dumps(..., default=str) builds a new one per call, which
# showed in the benchmark's profile (two lines per request: the app's and gunicorn's access line).
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """Formats a record, and the `fields` dict passed as `extra`, as one JSON object."""

    _second: tuple[int, str] = (-1, '')  # (a second, its text): one attribute, swapped whole

    def format(self, record: logging.LogRecord) -> str:
        line = {
            'ts': self._timestamp(record),
            'level': record.levelname,
            'logger': record.name,
            'message': record.getMessage(),
        }
        line.update(getattr(record, 'fields', {}))
        if record.exc_info:
            line['exception'] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)

    def _timestamp(self, record: logging.LogRecord) -> str:
        # strftime once per second, not per line; threads racing here both compute the same text.
        second, prefix = self._second
        if int(record.created) != second:
            second = int(record.created)
            prefix = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(second))
            self._second = (second, prefix)
        return f'{prefix}.{int(record.msecs):03d}Z'


def configure_logging(level: str) -> None:
    # No line prints a thread's or a process's name: LogRecord would look both up for every line.
    # (The process id stays: gunicorn's own text lines print it.)
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # At DEBUG the IBM SDK core turns on http.client's dump of whole HTTP exchanges (documents,
    # cookies): keep it quieter. Its logger is 'ibm-cloud-sdk-core', not the package name.
    sdk_logger().setLevel(max(logging.INFO, logging.getLevelName(level)))
