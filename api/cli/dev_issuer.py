"""A local development issuer for `make run` only: `python -m api.cli.dev_issuer serve|config|token`.

It lets a newcomer try per-user access without an identity provider: an RSA key pair generated once
into .data/dev-issuer/, its discovery document and key set served on 127.0.0.1, and tokens for any
user (`make token SUB=alice`). Production never trusts it: only Procfile.dev names it in AUTH_ISSUERS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_FILE = Path('.data') / 'dev-issuer' / 'private-key.pem'
AUDIENCE = 'couchgate-dev'
NAME = 'dev-users'
DEFAULT_PORT = 5556


def issuer_url(port: int) -> str:
    return f'http://127.0.0.1:{port}'


def private_key(path: Path = KEY_FILE) -> rsa.RSAPrivateKey:
    """The issuer's key, generated on first use; two processes starting at once end up with one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        generated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = generated.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        temporary = path.with_name(f'.{path.name}.{os.getpid()}')
        temporary.write_bytes(pem)
        temporary.chmod(0o600)
        try:
            os.link(temporary, path)  # fails if another process got there first: theirs is kept
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def key_id(key: rsa.RSAPrivateKey) -> str:
    return hashlib.sha256(str(key.public_key().public_numbers().n).encode()).hexdigest()[:16]


def config(port: int) -> str:
    """AUTH_ISSUERS trusting this issuer: every scope, each user in u:{sub}:."""
    member = {
        'name': NAME,
        'issuer': issuer_url(port),
        'audience': AUDIENCE,
        'scopes': ['read', 'query', 'export', 'write'],
        'id_prefix': 'u:{sub}:',
    }
    return json.dumps([member])


def token(sub: str, port: int, hours: float = 1.0, scope: str | None = None) -> str:
    key = private_key()
    now = int(time.time())
    claims = {
        'iss': issuer_url(port),
        'sub': sub,
        'aud': AUDIENCE,
        'iat': now,
        'exp': now + int(hours * 3600),
    }
    if scope:
        claims['scope'] = scope
    return jwt.encode(claims, key, algorithm='RS256', headers={'kid': key_id(key)})


def server(port: int, host: str = '127.0.0.1') -> ThreadingHTTPServer:
    """The discovery document and the key set, on loopback."""
    key = private_key()
    jwk = dict(RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), kid=key_id(key), use='sig', alg='RS256')
    documents = {
        '/.well-known/openid-configuration': {
            'issuer': issuer_url(port),
            'jwks_uri': issuer_url(port) + '/jwks',
        },
        '/jwks': {'keys': [jwk]},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = documents.get(self.path)
            body = json.dumps(document or {'error': 'not found'}).encode()
            self.send_response(200 if document else 404)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m api.cli.dev_issuer', description=__doc__.splitlines()[0])
    parser.add_argument('command', choices=['serve', 'config', 'token'])
    parser.add_argument('--port', type=int, default=DEFAULT_PORT, help='default: %(default)s')
    parser.add_argument('--sub', default='alice', help='token: the user (default: %(default)s)')
    parser.add_argument('--scope', help='token: a space-separated scope claim, e.g. "read query"')
    args = parser.parse_args(argv)
    if args.command == 'config':
        print(config(args.port))
    elif args.command == 'token':
        print(token(args.sub, args.port, scope=args.scope))
    else:
        # honcho stops its processes with SIGTERM: exit cleanly, as the others do.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with server(args.port) as serving:
            print(f'dev issuer: {issuer_url(args.port)} (keys in {KEY_FILE})', flush=True)
            serving.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main())
