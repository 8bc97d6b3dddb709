"""The upstream the targets talk to: pouchdb-server with a data set, a TLS front, a latency proxy.

app ──(RTT)── latency proxy ── TLS front (counts connections) ── pouchdb-server

The bench database holds `docs` documents `doc-000001`... and design/foundbite's design documents
(bench/design_docs.py), which sort before them: the first page of a listing crosses them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import certifi
import psutil
import requests
import trustme

from bench import design_docs
from bench.processes import Service, base_env
from tests.support.pouch import PouchServer

DB = 'bench'
WRITES_DB = 'bench_writes'  # the write workload's: the listings stay the same
BULK = 5000


def document(n: int) -> dict:
    """Document number `n`: about 250 bytes of JSON, like a small business record."""
    return {
        '_id': f'doc-{n:06d}',
        'type': 'order',
        'customer': f'customer-{n % 997:03d}',
        'total': round(n * 1.37 % 500, 2),
        'status': ('new', 'paid', 'shipped')[n % 3],
        'items': [{'sku': f'sku-{(n * 7 + i) % 1000:04d}', 'qty': 1 + (n + i) % 4} for i in range(3)],
    }


class UpstreamChain:
    """Starts every part, loads `docs` documents; `url` is what the apps use (via the proxy)."""

    def __init__(self, work: Path, *, docs: int, rtt_ms: float) -> None:
        self.work = work
        self.docs = docs
        self.rtt_ms = rtt_ms
        self._services: list[Service] = []

    def __enter__(self) -> UpstreamChain:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        ca = trustme.CA()
        self.ca_pem = self.work / 'ca.pem'
        ca.cert_pem.write_to_path(str(self.ca_pem))
        chain = self.work / 'front.pem'
        ca.issue_cert('127.0.0.1', 'localhost').private_key_and_cert_chain_pem.write_to_path(str(chain))
        # What an app needs against a real Cloudant: the public CAs (certifi), here plus ours.
        self.ca_bundle = self.work / 'ca-bundle.pem'
        self.ca_bundle.write_bytes(Path(certifi.where()).read_bytes() + self.ca_pem.read_bytes())

        self.pouch = PouchServer(self.work / 'pouch')
        self.pouch.start()
        self._load()
        python = [sys.executable, '-m', 'bench.upstream']
        self.front = self._service(
            'front',
            [*python, 'front', '--upstream-port', str(self.pouch.port), '--cert-chain', str(chain)],
            stdin=True,
        )
        front_port = self.front.read_json()['port']
        proxy = self._service(
            'proxy', [*python, 'proxy', '--target-port', str(front_port), '--rtt-ms', str(self.rtt_ms)]
        )
        self.url = f'https://127.0.0.1:{proxy.read_json()["port"]}'

    def _service(self, name: str, command: list[str], stdin: bool = False) -> Service:
        service = Service(name, command, self.work, env=base_env(), stdin=stdin, json_stdout=True)
        self._services.append(service)
        return service

    def _load(self) -> None:
        session = requests.Session()
        session.trust_env = False
        base = f'{self.pouch.url}/{DB}'
        assert session.put(base, timeout=30).status_code == 201
        assert session.put(f'{self.pouch.url}/{WRITES_DB}', timeout=30).status_code == 201
        for start in range(1, self.docs + 1, BULK):
            docs = [document(n) for n in range(start, min(start + BULK, self.docs + 1))]
            response = session.post(f'{base}/_bulk_docs', json={'docs': docs}, timeout=300)
            response.raise_for_status()
        # The release phase's design documents too: the first page of a listing crosses them.
        self.design_dir = design_docs.design_dir(self.work, DB)
        self.design_docs = design_docs.count(self.design_dir, DB)
        design_docs.deploy(self.pouch.url, self.design_dir, DB)
        count = session.get(base, timeout=30).json()['doc_count']
        expected = self.docs + self.design_docs
        assert count == expected, f'loaded {count} of {expected} documents (design documents included)'
        session.close()

    def cpu_seconds(self) -> float:
        """CPU time of the upstream's processes: pouchdb-server, the TLS front, the proxy."""
        return sum(service.cpu_seconds() for service in self._services) + sum(
            psutil.Process(self.pouch.pid).cpu_times()[:2]
        )

    def cold_start(self) -> None:
        """Close every connection to the front and zero its counters: the next target starts cold."""
        self.front.ask('close')
        self.front.ask('reset')

    def front_counts(self) -> dict:
        return self.front.ask('stats')

    def __exit__(self, *exc_info) -> None:
        for service in reversed(self._services):
            service.stop()
        if getattr(self, 'pouch', None) is not None:
            self.pouch.stop()
