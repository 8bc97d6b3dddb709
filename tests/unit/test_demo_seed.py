"""The demo data (api.cli.demo): deterministic documents, and failures that give up and say so safely."""

import http.server
import threading
import time

import pytest

from api.cli import demo
from tests.support.pouch import free_port


def test_demo_documents_are_deterministic_and_numbered():
    assert demo.bite(7) == demo.bite(7)
    assert demo.bite(1)['_id'] == 'bite-0001'
    assert demo.bite(100)['_id'] == 'bite-0100'
    assert set(demo.bite(3)) >= {'name', 'cuisine', 'price', 'rating', 'tags'}


def test_redact_drops_user_and_password():
    assert demo.redact('https://me:s3cret@acct.cloudant.com:443/x') == 'https://acct.cloudant.com:443/x'
    assert demo.redact('http://127.0.0.1:5984') == 'http://127.0.0.1:5984'


def test_waiting_for_a_server_that_is_not_there_gives_up_after_the_deadline():
    url = f'http://127.0.0.1:{free_port()}/'
    started = time.monotonic()
    with pytest.raises(demo.ServerUnavailable, match=r'within 0\.5 s'):
        demo.wait_for_server(demo.requests.Session(), url, 0.5)
    assert time.monotonic() - started < 5


def test_a_failed_run_never_prints_the_password(capsys):
    url = f'http://someone:hunter2@127.0.0.1:{free_port()}'
    assert demo.main(['--url', url, '--wait', '0']) == 1
    out, err = capsys.readouterr()
    assert 'hunter2' not in out + err
    assert 'someone' not in out + err


class _LockedCouch(http.server.BaseHTTPRequestHandler):
    """A server on the demo's port that wants credentials: what another CouchDB there looks like."""

    def do_GET(self):
        self.send_response(401 if self.path != '/' else 200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    do_PUT = do_POST = do_GET

    def log_message(self, *args):
        pass  # not on the test's stderr


def test_a_server_that_wants_credentials_is_named_as_probably_another_couchdb(capsys):
    server = http.server.HTTPServer(('127.0.0.1', 0), _LockedCouch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = demo.main(['--url', f'http://127.0.0.1:{server.server_port}', '--db', 'foundbite'])
    finally:
        server.shutdown()
        server.server_close()
    [line] = capsys.readouterr().err.splitlines()
    assert code == 1 and line.startswith('demo: HTTP 401') and 'another CouchDB on that port' in line
