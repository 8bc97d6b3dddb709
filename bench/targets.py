"""The targets under the same load: four gunicorn apps with the same workers and threads (the bare
pass-through is the floor of CPU per request), and the upstream itself (the ceiling)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from api.cli.procfile import process_command, shell_command
from bench.chain import DB, UpstreamChain
from bench.processes import Service, base_env, wait_http
from tests.support.pouch import free_port

TARGETS = ('per-request client', 'module-level client', 'pass-through', 'couchgate', 'upstream direct')


@dataclasses.dataclass
class Running:
    """A target ready for load: the request to send, and the server process (None for the upstream)."""

    name: str
    url: str
    service: Service | None
    ca: Path | None = None  # what the load generator must trust (the direct target is HTTPS)
    request: dict = dataclasses.field(default_factory=dict)  # method, body, headers if not a plain GET


def listing_query(limit: int, include_docs: bool) -> str:
    return f'limit={limit}' + ('&include_docs=true' if include_docs else '')


def upstream_request(query: str) -> dict:
    """The request the apps send for a listing, as the SDK sends it: so the upstream does the
    same work for the direct target (a JSON body, and gzip accepted: pouchdb-server compresses)."""
    params = dict(pair.split('=') for pair in query.split('&'))
    body = {'limit': int(params['limit']), 'include_docs': params.get('include_docs') == 'true'}
    return {
        'method': 'POST',
        'body': json.dumps(body),
        'headers': {
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            'Accept-Encoding': 'gzip, deflate',
        },
    }


@contextlib.contextmanager
def running(
    name: str,
    chain: UpstreamChain,
    work: Path,
    *,
    workers: int,
    threads: int,
    query: str,
    extra_env: dict | None = None,
) -> Iterator[Running]:
    """Start target `name` (fresh processes), yield it, stop it."""
    if name == 'upstream direct':
        yield Running(name, f'{chain.url}/{DB}/_all_docs', None, chain.ca_pem, upstream_request(query))
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
            CLOUDANT_DATABASES=DB,
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
            f'{module}:app',
        ]
        env = base_env(CLOUDANT_URL=chain.url, REQUESTS_CA_BUNDLE=str(chain.ca_bundle))
    service = Service(name.replace(' ', '-'), command, work, env=env)
    try:
        base = f'http://127.0.0.1:{port}'
        wait_http(f'{base}/v1/{DB}/docs?limit=1', service)
        yield Running(name, f'{base}/v1/{DB}/docs?{query}', service)
    finally:
        service.stop()
