"""A WSGI app served over real HTTP on loopback, in a thread: for clients that need a URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port, a thread per request) until the block ends; yields its URL."""
    # Werkzeug, like gunicorn, decodes %2F in PATH_INFO: a percent-encoded id reaches the router as "/".
    server = make_server('127.0.0.1', 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name='wsgi-server', daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_port}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
