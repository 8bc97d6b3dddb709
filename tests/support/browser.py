"""A real browser for the tests: headless Chromium driven by Selenium, and a page server of another origin.

Chromium and its driver are Debian's packages (`make install` adds them when they are missing).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'


@contextlib.contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A headless Chromium, quit when the block ends."""
    options = webdriver.ChromeOptions()
    # --no-sandbox: CI runs as root; --disable-dev-shm-usage: a container's small /dev/shm.
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage'):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@contextlib.contextmanager
def serving_page(html: str) -> Iterator[str]:
    """Serve `html` at / from 127.0.0.1 (a free port, a thread per request) until the block ends;
    yields the page server's origin, e.g. http://127.0.0.1:40123, which is not the API's."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.split('?', 1)[0] == '/'
            self.send_response(200 if found else 404)
            self.send_header('Content-Type', 'text/html; charset=utf-8')
            self.send_header('Content-Length', str(len(body) if found else 0))
            self.send_header('Cache-Control', 'no-store')
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, format, *args) -> None:
            pass  # quiet: pytest shows the test's own output

    server = ThreadingHTTPServer(('127.0.0.1', 0), Page)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name='page-server', daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_port}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
