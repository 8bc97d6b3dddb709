"""TLS trust fixed per adapter: the CA bundle is looked at on disk once, not three times per call.

requests checks the bundle on every call (`os.path.exists`, `os.path.isdir` twice): three stat
calls per upstream request, each releasing the GIL that the worker's other threads wait for. The
adapter's bundle never changes while it runs, so this one checks it once per pool.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from requests import PreparedRequest
from requests.adapters import HTTPAdapter


class FixedTrustAdapter(HTTPAdapter):
    """An adapter whose `_verify` (True, or a CA bundle's path) is the trust of every call."""

    _verify: bool | str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._verified: weakref.WeakSet[Any] = weakref.WeakSet()  # pools already given our trust
        self._ca: dict[str, str] | None = None
        super().__init__(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # It sets the same attributes on a pool each time: once per pool (fork gives new pools).
        if verify is self._verify and cert is None and conn in self._verified:
            return
        super().cert_verify(conn, url, verify, cert)
        if verify is self._verify and cert is None:
            self._verified.add(conn)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        if verify is not self._verify or not isinstance(verify, str):
            return super().build_connection_pool_key_attributes(request, verify, cert)
        # As requests builds them for a bundle's path, with the isdir() answer kept.
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, True, cert)
        if self._ca is None:
            self._ca = {'ca_cert_dir' if os.path.isdir(verify) else 'ca_certs': verify}
        return host_params, {**pool_kwargs, **self._ca}
