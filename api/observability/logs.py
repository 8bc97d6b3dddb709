"""JSON log lines on stdout: one object per line, easy to read in `heroku logs`."""

from __future__ import annotations

import json
import logging
import sys
import time

from ibm_cloud_sdk_core.logger import get_logger as sdk_logger


class JsonFormatter(logging.Formatter):
    """Formats a record, and the `fields` dict passed as `extra`, as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            'ts': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created))
            + f'.{int(record.msecs):03d}Z',
            'level': record.levelname,
            'logger': record.name,
            'message': record.getMessage(),
        }
        line.update(getattr(record, 'fields', {}))
        if record.exc_info:
            line['exception'] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # At DEBUG the IBM SDK core turns on http.client's dump of whole HTTP exchanges (documents,
    # cookies): keep it quieter. Its logger is 'ibm-cloud-sdk-core', not the package name.
    sdk_logger().setLevel(max(logging.INFO, logging.getLevelName(level)))
