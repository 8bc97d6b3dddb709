"""gunicorn's access line for an answer the worker gives itself (a refusal), as gunicorn writes it
for its own error pages, and for heads gunicorn never parsed too."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from gunicorn.http.wsgi import Response, default_environ


def log_access(
    worker, req, client, addr, status: str | int, request_id: str, length: int, started: datetime
) -> None:
    """One access line through the worker's logger (api/observability/access_log.py formats it)."""
    environ = default_environ(req, client, worker.cfg)
    environ['REMOTE_ADDR'], environ['REMOTE_PORT'] = peer_ip(addr), str(peer_port(addr))
    resp = Response(req, client, worker.cfg)
    resp.status, resp.response_length, resp.sent = status, length, length
    resp.headers = [('X-Request-ID', request_id)]  # the line's request_id, as on the app's answers
    worker.log.access(resp, req, environ, datetime.now() - started)


def unparsed(head: bytes) -> SimpleNamespace:
    """What the access line needs of a request gunicorn never parsed: its first line, if it came."""
    parts = head.split(b'\r\n', 1)[0].decode('latin-1').split(' ')
    method, uri = (parts[0][:20], parts[1][:200]) if len(parts) == 3 else ('-', '-')
    return SimpleNamespace(method=method, uri=uri, path=uri, query='', version=(1, 1), headers=[], body=None)


def peer_ip(addr) -> str:
    return addr[0] if isinstance(addr, tuple) else str(addr or '')


def peer_port(addr) -> int:
    return addr[1] if isinstance(addr, tuple) and len(addr) > 1 else -1
