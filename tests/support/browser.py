"""A real browser for the tests: headless Chromium driven by Selenium, and a page server of another origin.

Chromium and its driver are Debian's packages (`make install` adds them when they are missing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.wsgi_server import serving

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


def serving_page(html: str) -> contextlib.AbstractContextManager[str]:
    """Serve `html` at / from 127.0.0.1 until the block ends; yields the page server's origin, e.g.
    http://127.0.0.1:40123, which is not the API's."""
    body = html.encode()

    def page(environ, start_response):
        found = environ.get('PATH_INFO') == '/'
        start_response(
            '200 OK' if found else '404 Not Found',
            [('Content-Type', 'text/html; charset=utf-8'), ('Cache-Control', 'no-store')],
        )
        return [body if found else b'']

    return serving(page)
