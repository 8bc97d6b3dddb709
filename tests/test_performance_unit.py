"""The changes the benchmark's profile led to keep the API's behaviour: orjson responses, no body gzip."""
from falcon import testing
from ibmcloudant import CloudantV1

from api.config import Settings
from container import build_injector
from tests.fakes import FakeCouch, fake_app


def client_with(couch):
    return testing.TestClient(fake_app(couch, CLOUDANT_DATABASES='foundbite'))


def test_responses_keep_unicode_and_numbers_exact_even_beyond_64_bits():
    couch = FakeCouch('foundbite')
    doc = {'_id': 'd1', '_rev': '1-x', 'name': 'crème brûlée ☕', 'big': 2 ** 70, 'ratio': 0.1, 'n': -3}
    couch.dbs['foundbite']['d1'] = doc
    result = client_with(couch).simulate_get('/v1/foundbite/docs/d1')
    assert result.status_code == 200
    assert result.headers['content-type'] == 'application/json'
    assert result.json == doc
    assert '1180591620717411303424' in result.text  # 2**70 written as an integer, not a float


def test_request_bodies_are_sent_to_the_database_uncompressed():
    client = build_injector(Settings.from_env({})).get(CloudantV1)
    assert client.get_enable_gzip_compression() is False
