"""Importing documents with 1,000-document bulks vs one POST each: wall time, upstream requests, write units.

    python -m bench.bulk [--docs 10000] [--batch 1000] [--threads 1]

app (in process, real HTTP) ── TLS front (records each request) ── pouchdb-server

Both counts are taken past couchgate, at the server side, as the other benchmarks count: the
requests the front forwarded, and their write units by the capacity emulator's own classifier
(tests/support/capacity_emulator.py, independent of couchgate's).
"""

from __future__ import annotations

import argparse
import logging
import ssl
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import trustme

from api.app import create_app
from api.config import Settings
from bench.chain import document
from container import build_injector
from tests.support.capacity_emulator import request_class
from tests.support.pouch import PouchServer
from tests.support.tls_front import TLSFront
from tests.support.wsgi_server import serving

DB = 'bulk_bench'
KEY = 'bulk-bench-key-0123456789abcdef'


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.bulk')
    parser.add_argument('--docs', type=int, default=10_000)
    parser.add_argument('--batch', type=int, default=1000, help='documents per bulk (at most 1000)')
    parser.add_argument('--threads', type=int, default=1, help='clients sending the single POSTs at once')
    args = parser.parse_args(argv)
    logging.getLogger('werkzeug').setLevel(logging.WARNING)  # a line per request otherwise
    with tempfile.TemporaryDirectory(prefix='bench-bulk-') as work:
        rows = run(Path(work), args.docs, args.batch, args.threads)
    print(f'importing {args.docs:,} documents   wall s   upstream requests   write units')
    for name, seconds, upstream_requests, units in rows:
        print(f'{name:<30} {seconds:>7.2f}   {upstream_requests:>17,}   {units:>11,}')


def run(work: Path, docs: int, batch: int, threads: int) -> list[tuple[str, float, int, int]]:
    ca = trustme.CA()
    bundle = work / 'ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert('127.0.0.1').configure_cert(context)
    with PouchServer(work / 'pouch') as pouch, TLSFront(('127.0.0.1', pouch.port), context) as front:
        settings = Settings.from_env(
            {
                'CLOUDANT_URL': front.url,
                'CLOUDANT_CA_BUNDLE': str(bundle),
                'CLOUDANT_DATABASES': DB,
                'API_KEYS': f'bench:{KEY}',
                'CLOUDANT_POOL_MAXSIZE': str(max(threads, 4)),
            }
        )
        with serving(create_app(build_injector(settings))) as base:
            session = requests.Session()
            session.headers['Authorization'] = f'Bearer {KEY}'
            modes = [
                (f'{batch:,}-document bulks', lambda: _bulks(session, base, docs, batch)),
                ('one POST each', lambda: _singles(session, base, docs, threads)),
            ]
            return [_measure(name, send, pouch, front, docs) for name, send in modes]


def _measure(name, send, pouch, front, docs) -> tuple[str, float, int, int]:
    requests.delete(f'{pouch.url}/{DB}', timeout=30)
    assert requests.put(f'{pouch.url}/{DB}', timeout=30).status_code == 201
    front.reset()
    started = time.perf_counter()
    send()
    seconds = time.perf_counter() - started
    stored = requests.get(f'{pouch.url}/{DB}', timeout=30).json()['doc_count']
    if stored != docs:
        raise RuntimeError(f'{name}: {stored} of {docs} documents stored')
    sent = front.requests
    units = sum(n for r in sent for cls, n in [request_class(r.method, r.path, r.body)] if cls == 'write')
    return name, seconds, len(sent), units


def _bulks(session: requests.Session, base: str, docs: int, batch: int) -> None:
    for start in range(0, docs, batch):
        body = {'docs': [document(n) for n in range(start, min(start + batch, docs))]}
        answer = session.post(f'{base}/v1/{DB}/bulk', json=body, timeout=120)
        answer.raise_for_status()
        if any(result['status'] != 201 for result in answer.json()['results']):
            raise RuntimeError(f'a bulk from {start} was not written whole')


def _singles(session: requests.Session, base: str, docs: int, threads: int) -> None:
    def post(n: int) -> None:
        session.post(f'{base}/v1/{DB}/docs', json=document(n), timeout=60).raise_for_status()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(docs)))


if __name__ == '__main__':
    main()
