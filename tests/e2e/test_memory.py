"""Memory bounded by bytes, not by documents: listings and exports over 1 MB documents (Cloudant's
limit), measured at the gunicorn worker's RSS while they run."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from tests.support.api_keys import KEY_HEADER, TEST_KEYS
from tests.support.gunicorn_process import WebProcess
from tests.support.web import web_env

DOCS = 120
MB = 1024 * 1024
ONE, EIGHT = 64 * MB, 256 * MB  # the most one request, and eight at once, may add to a worker's RSS


@pytest.fixture(scope='module')
def megabyte_db(make_db_for_module, couch_admin) -> str:
    name = make_db_for_module()
    for start in range(0, DOCS, 10):
        numbers = range(start, start + 10)
        docs = [{'_id': f'doc-{i:04d}', 'pad': secrets.token_urlsafe(750_000)} for i in numbers]
        assert couch_admin.post(f'{name}/_bulk_docs', json={'docs': docs}, timeout=120).status_code == 201
    return name


@pytest.fixture(scope='module')
def make_db_for_module(couch_admin):
    created = []

    def make() -> str:
        name = 'm' + secrets.token_hex(6)
        assert couch_admin.put(name).status_code == 201
        created.append(name)
        return name

    yield make
    for name in created:
        couch_admin.delete(name)


class PeakRSS:
    """The highest RSS of a process while the block runs, sampled every 10 ms (a measurement)."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._done = threading.Event()

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def read_all(url: str) -> tuple[int, int, int]:
    """(status, bytes, lines) of a response read in chunks, as a client does."""
    with requests.get(url, stream=True, timeout=120, headers=KEY_HEADER) as response:  # export: a key
        size = lines = 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            lines += chunk.count(b'\n')
        return response.status_code, size, lines


def measured(pid: int, what: str, run: Callable[[], list[tuple[int, int, int]]]) -> tuple[int, list]:
    started = time.monotonic()
    with PeakRSS(pid) as rss:
        results = run()
    print(
        f'{what}: RSS {rss.start / MB:.0f} MB -> peak {rss.peak / MB:.0f} MB '
        f'(+{rss.growth / MB:.1f} MB) in {time.monotonic() - started:.1f} s; {results[:2]}'
    )
    return rss.growth, results


def test_listings_and_exports_of_megabyte_documents_stay_within_bounds(front, ca_bundle, megabyte_db):
    db = megabyte_db
    env = web_env(front, ca_bundle, db, WEB_CONCURRENCY='1', GUNICORN_THREADS='8', API_KEYS=TEST_KEYS)
    with WebProcess(**env) as web:
        web.wait_ready('/healthz')
        [pid] = web.worker_pids()
        listing = f'{web.url}/v1/{db}/docs?limit=1000&include_docs=true'
        export = f'{web.url}/v1/{db}/export'
        assert read_all(f'{web.url}/v1/{db}/docs?limit=1')[0] == 200  # warm: imports, pools, first calls

        growth, [(status, size, _)] = measured(pid, 'one listing', lambda: [read_all(listing)])
        assert status == 200 and size > MB
        assert growth <= ONE

        growth, [(status, _, lines)] = measured(pid, 'one export', lambda: [read_all(export)])
        assert (status, lines) == (200, DOCS)
        assert growth <= ONE

        with ThreadPoolExecutor(8) as pool:
            growth, results = measured(
                pid, '8 listings at once', lambda: list(pool.map(read_all, [listing] * 8))
            )
            assert {status for status, _, _ in results} == {200}
            assert growth <= EIGHT

            growth, results = measured(
                pid, '8 exports at once', lambda: list(pool.map(read_all, [export] * 8))
            )
            assert {(status, lines) for status, _, lines in results} == {(200, DOCS)}
            assert growth <= EIGHT
