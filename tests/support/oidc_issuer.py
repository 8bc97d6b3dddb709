"""A real OpenID Connect issuer on loopback for the tests: discovery and JWKS over HTTP, tokens signed
with its keys (`cryptography` keys, PyJWT tokens). It counts what it serves, and can be made slow or
down, or rotate its keys, while it runs.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = 'https://api.couchgate.test'


class SigningKey:
    """A private key, its `kid` and algorithm, and its public JWK."""

    def __init__(self, algorithm: str = 'RS256', kid: str | None = None) -> None:
        self.algorithm = algorithm
        self.kid = kid or uuid.uuid4().hex[:12]
        self.private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        if algorithm.startswith('ES'):
            self.private = ec_key = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
        else:
            self.private = rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
        self.jwk = dict(jwk, kid=self.kid, use='sig', alg=algorithm)


class OidcIssuer:
    """`with OidcIssuer() as issuer:` serves http://127.0.0.1:PORT/.well-known/openid-configuration
    and /jwks; `issuer.token(sub='alice')` signs a token it vouches for."""

    def __init__(self, path: str = '', max_age: int | None = None) -> None:
        self.keys = [SigningKey()]
        self.max_age = max_age
        self.prefix = path  # e.g. '/realms/x' (a Keycloak-style issuer URL)
        self.delay = 0.0  # seconds before each answer (a slow issuer)
        self.released = threading.Event()
        self.discovery_names: str | None = None  # another issuer in the discovery document
        self.down = False  # answer 503 to everything
        self.counts = {'discovery': 0, 'jwks': 0, 'arrived': 0}  # arrived: before any delay
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}{path}'
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OidcIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def config(self, **members) -> dict:
        """One AUTH_ISSUERS object for this issuer."""
        return dict(
            {
                'name': 'app-users',
                'issuer': self.url,
                'audience': AUDIENCE,
                'scopes': ['read', 'query', 'write'],
            },
            **members,
        )

    def rotate(self) -> SigningKey:
        """A new key, published beside the old ones."""
        key = SigningKey()
        self.keys.append(key)
        return key

    def token(
        self, sub: str | None = 'alice', key: SigningKey | None = None, headers: dict | None = None, **claims
    ) -> str:
        """A token signed by `key` (default: the first), valid for 5 minutes unless `claims` say otherwise."""
        key = key or self.keys[0]
        now = int(time.time())
        payload = {'iss': self.url, 'sub': sub, 'aud': AUDIENCE, 'iat': now, 'exp': now + 300}
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, key.private, algorithm=key.algorithm, headers=dict({'kid': key.kid}, **(headers or {}))
        )

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


def _handler(issuer: OidcIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            issuer._count('arrived')
            if issuer.delay:
                issuer.released.wait(issuer.delay)  # a slow issuer, let go at the end of the test
            path = self.path.removeprefix(issuer.prefix)
            if issuer.down:
                return self._send(503, {'error': 'down'})
            if path == '/.well-known/openid-configuration':
                issuer._count('discovery')
                named = issuer.discovery_names or issuer.url
                return self._send(200, {'issuer': named, 'jwks_uri': issuer.url + '/jwks'})
            if path == '/jwks':
                issuer._count('jwks')
                return self._send(200, {'keys': [key.jwk for key in issuer.keys]}, issuer.max_age)
            self._send(404, {'error': 'not found'})

        def _send(self, status: int, body: dict, max_age: int | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                if max_age is not None:
                    self.send_header('Cache-Control', f'public, max-age={max_age}')
                self.end_headers()
                self.wfile.write(data)
            except ConnectionError:
                pass  # the app gave up first (its 3 s cap on a slow issuer): nothing to answer

    return Handler
