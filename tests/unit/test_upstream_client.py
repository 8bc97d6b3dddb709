"""The Cloudant client the container builds: its timeouts reach the login calls, bodies go uncompressed."""

import pytest
from ibm_cloud_sdk_core.authenticators import Authenticator
from ibmcloudant import CloudantV1

from api.config import Settings
from api.upstream.logins import CookieSessionAuthenticator, SharedIAMAuthenticator
from container import build_injector


@pytest.mark.parametrize(
    'auth, kind',
    [
        (
            {'CLOUDANT_AUTH_TYPE': 'COUCHDB_SESSION', 'CLOUDANT_USERNAME': 'u', 'CLOUDANT_PASSWORD': 'p'},
            CookieSessionAuthenticator,
        ),
        (
            {'CLOUDANT_AUTH_TYPE': 'IAM', 'CLOUDANT_APIKEY': 'k', 'CLOUDANT_IAM_URL': 'http://127.0.0.1:9'},
            SharedIAMAuthenticator,
        ),
    ],
)
def test_timeouts_reach_the_login_calls_too(auth, kind):
    settings = Settings.from_env(dict(auth, CLOUDANT_CONNECT_TIMEOUT='3', CLOUDANT_READ_TIMEOUT='7'))
    injector = build_injector(settings)
    client = injector.get(CloudantV1)
    authenticator = injector.get(Authenticator)
    assert isinstance(authenticator, kind) and client.get_authenticator() is authenticator
    assert client.http_config['timeout'] == (3.0, 7.0)
    assert authenticator.token_manager.http_config['timeout'] == (3.0, 7.0)


def test_request_bodies_are_sent_to_the_database_uncompressed():
    client = build_injector(Settings.from_env({})).get(CloudantV1)
    assert client.get_enable_gzip_compression() is False
