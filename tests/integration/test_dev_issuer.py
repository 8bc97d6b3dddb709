"""`make run`'s local development issuer (issue 23): a key pair generated once into .data/, its
discovery document and key set served on loopback, tokens for any user; only Procfile.dev trusts it.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from api.cli import dev_issuer
from api.cli.procfile import process_command
from tests.support.sign_in import signed_in

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_a_token_of_the_dev_issuer_is_a_user_of_their_own_prefix(make_client, db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    port = _free_port()
    with dev_issuer.server(port) as serving:
        threading.Thread(target=serving.serve_forever, daemon=True).start()
        client = make_client(AUTH_ISSUERS=dev_issuer.config(port))
        token = dev_issuer.token('alice', port)
        created = client.simulate_post(f'/v1/{db}/docs', json={'a': 1}, headers=signed_in(token))
        serving.shutdown()
    assert created.status_code == 201 and created.json['id'].startswith('u:alice:')
    key = tmp_path / dev_issuer.KEY_FILE
    assert key.stat().st_mode & 0o077 == 0  # the private key is the owner's alone
    assert dev_issuer.private_key(key).private_numbers() == dev_issuer.private_key(key).private_numbers()


def test_only_the_dev_procfile_trusts_the_dev_issuer():
    assert 'dev_issuer serve' in process_command('issuer', ROOT / 'Procfile.dev')
    assert (
        'AUTH_ISSUERS="${AUTH_ISSUERS:-$(python -m api.cli.dev_issuer config '
        '--port ${DEV_ISSUER_PORT:-5556})}"' in process_command('web', ROOT / 'Procfile.dev')
    )
    production = (ROOT / 'Procfile').read_text() + (ROOT / 'app.json').read_text()
    assert 'dev_issuer' not in production and 'dev-users' not in production
    assert json.loads(dev_issuer.config(5556))[0]['issuer'] == 'http://127.0.0.1:5556'
