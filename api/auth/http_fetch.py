"""The key sets' own small HTTP client: urllib3 with a 3 s cap, no redirects, never the Cloudant session."""

from __future__ import annotations

import json
import time

import certifi
import urllib3

from api.auth.jwks import KeySetError, max_age

FETCH_TIMEOUT = 3.0
MAX_DOCUMENT_BYTES = 1024 * 1024


class HttpKeyFetch:
    """GETs issuers' discovery documents and key sets (the KeyFetch of production)."""

    def __init__(self, timeout: float = FETCH_TIMEOUT) -> None:
        self._timeout = timeout
        self._pool: urllib3.PoolManager | None = None  # made on first use, in the worker

    def get_json(self, url: str) -> tuple[object, float | None]:
        if self._pool is None:
            self._pool = urllib3.PoolManager(
                num_pools=4, maxsize=1, cert_reqs='CERT_REQUIRED', ca_certs=certifi.where()
            )
        deadline = time.monotonic() + self._timeout
        response = self._pool.request(
            'GET',
            url,
            headers={'Accept': 'application/json'},
            # total: connect and read together; no retries and no redirects (a redirect is a failure).
            timeout=urllib3.Timeout(total=self._timeout),
            retries=False,
            redirect=False,
            preload_content=False,
        )
        try:
            if response.status != 200:
                raise KeySetError(f'{url} answered {response.status}')
            chunks = []
            size = 0
            # The socket timeout bounds each read; a server sending a byte at a time meets the deadline.
            for chunk in response.stream(16 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise KeySetError(f'{url} sent more than 1 MiB')
                if time.monotonic() > deadline:
                    raise KeySetError(f'{url} took more than {self._timeout:g} s')
            body = b''.join(chunks)
        finally:
            response.release_conn()
        try:
            document = json.loads(body)
        except ValueError:
            raise KeySetError(f'{url} sent no JSON') from None
        return document, max_age(response.headers.get('Cache-Control'))
