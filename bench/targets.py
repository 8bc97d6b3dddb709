"""The targets under the same load: four gunicorn apps with the same workers and threads (the bare
pass-through is the floor of CPU per request), and the upstream itself (the ceiling)."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

from api.cli.procfile import process_command, shell_command
from bench.chain import DB, WRITES_DB, UpstreamChain
from bench.processes import REPO_ROOT, Service, base_env, wait_http
from bench.workloads import BENCH_KEY, Workload
from tests.support.pouch import free_port

TARGETS = ('per-request client', 'module-level client', 'pass-through', 'couchgate', 'upstream direct')


@dataclasses.dataclass
class Running:
    """A target ready for load, and its server process (None for the upstream)."""

    name: str
    base: str  # the app's http://127.0.0.1:PORT, or the upstream's URL (through proxy and TLS front)
    service: Service | None
    ca: Path | None = None  # what the load generator must trust (the direct target is HTTPS)

    def load(self, workload: Workload) -> dict:
        """run_load's arguments for this workload: the API request, or for the upstream its own."""
        if self.service is None:
            up = workload.upstream
            return {
                'url': self.base + up['path'],
                'ca': self.ca,
                'method': up['method'],
                'body': up.get('body'),
                'headers': up['headers'],
            }
        key = BENCH_KEY if self.name == 'couchgate' else None
        return {'url': self.base + workload.path, 'ca': self.ca, **workload.request(key=key)}


@contextlib.contextmanager
def running(
    name: str,
    chain: UpstreamChain,
    work: Path,
    *,
    workers: int,
    threads: int,
    extra_env: dict | None = None,
) -> Iterator[Running]:
    """Start target `name` (fresh processes), yield it, stop it."""
    if name == 'upstream direct':
        yield Running(name, chain.url, None, chain.ca_pem)
        return
    port = free_port()
    if name == 'couchgate':
        # Its Procfile command, as Heroku runs it; the same workers and threads as the others.
        command = ['/bin/sh', '-c', shell_command(process_command('web'))]
        env = base_env(
            PORT=str(port),
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(threads),
            CLOUDANT_URL=chain.url,
            CLOUDANT_CA_BUNDLE=str(chain.ca_bundle),
            CLOUDANT_DATABASES=f'{DB},{WRITES_DB}',
            API_KEYS=f'bench:{BENCH_KEY}',
            DESIGN_DIR=str(chain.design_dir),  # the design documents it will meet, known at start-up
            **(extra_env or {}),
        )
    else:
        module = {
            'per-request client': 'bench.app_per_request',
            'module-level client': 'bench.app_module_client',
            'pass-through': 'bench.app_passthrough',
        }[name]
        command = [
            sys.executable,
            '-m',
            'gunicorn',
            '--worker-class',
            'gthread',
            '--workers',
            str(workers),
            '--threads',
            str(threads),
            '--keep-alive',
            '95',
            '--bind',
            f'127.0.0.1:{port}',
            '--no-control-socket',
            '--config',
            str(REPO_ROOT / 'bench' / 'gunicorn_bare.py'),  # not ./gunicorn.conf.py, couchgate's
            f'{module}:app',
        ]
        env = base_env(
            CLOUDANT_URL=chain.url,
            REQUESTS_CA_BUNDLE=str(chain.ca_bundle),
            BENCH_DESIGN_DOCS=str(chain.design_docs),
        )
    service = Service(name.replace(' ', '-'), command, work, env=env)
    try:
        base = f'http://127.0.0.1:{port}'
        wait_http(f'{base}/v1/{DB}/docs?limit=1', service)
        yield Running(name, base, service)
    finally:
        service.stop()
