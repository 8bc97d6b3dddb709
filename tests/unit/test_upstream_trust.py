"""The adapter's TLS trust: the same pool settings requests would give, the bundle looked at once."""

from __future__ import annotations

import os

import pytest
from requests import PreparedRequest, Request
from requests.adapters import HTTPAdapter

from api.upstream.session import PooledAdapter


def prepared(url: str) -> PreparedRequest:
    return Request('GET', url).prepare()


@pytest.fixture(params=['file', 'directory'])
def bundle(request, tmp_path) -> str:
    path = tmp_path / 'ca.pem'
    if request.param == 'file':
        path.write_text('-----BEGIN CERTIFICATE-----\n')
    else:
        path.mkdir()
    return str(path)


def test_pool_settings_are_requests_own_for_a_bundle_file_or_directory(bundle):
    adapter = PooledAdapter(pool_maxsize=2, ca_bundle=bundle)
    for url in ('https://a.example:6984/db', 'https://b.example/db/_all_docs', 'http://c.example/'):
        ours = adapter.build_connection_pool_key_attributes(prepared(url), adapter._verify)
        theirs = HTTPAdapter.build_connection_pool_key_attributes(adapter, prepared(url), adapter._verify)
        assert ours == theirs


def test_a_pool_gets_requests_own_trust_and_the_bundle_is_looked_at_once(bundle, monkeypatch):
    adapter = PooledAdapter(pool_maxsize=2, ca_bundle=bundle)
    looks: list[str] = []

    def counted(name: str):
        real = getattr(os.path, name)

        def look(path):
            looks.append(name)
            return real(path)

        return look

    for name in ('exists', 'isdir'):
        monkeypatch.setattr(os.path, name, counted(name))
    url = 'https://a.example:6984/db'
    for _ in range(5):
        host, kwargs = adapter.build_connection_pool_key_attributes(prepared(url), adapter._verify)
        pool = adapter.poolmanager.connection_from_host(**host, pool_kwargs=kwargs)
        adapter.cert_verify(pool, url, adapter._verify, None)
    assert len(looks) == 3  # requests: 3 per call, here once for all
    assert (pool.cert_reqs, pool.ca_certs, pool.ca_cert_dir) == (
        ('CERT_REQUIRED', bundle, None) if not os.path.isdir(bundle) else ('CERT_REQUIRED', None, bundle)
    )
