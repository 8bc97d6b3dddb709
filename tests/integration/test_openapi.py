"""Property-based testing of the whole API from its OpenAPI document (schemathesis, WSGI, real upstream).

Valid and invalid requests are generated for every documented operation and sent to the real
app, whose upstream is the real server behind the TLS front. Every check schemathesis has runs:
no 5xx, and every status, header, content type and body as documented.
"""

from __future__ import annotations

import pytest
import schemathesis
from falcon import testing
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.config import Settings
from container import build_injector
from tests.support.api_keys import KEY_HEADER, TEST_KEYS

MAX_EXAMPLES = 100  # per operation and generation mode: about 1,000 cases in well under two minutes
GENERATED = {'cases': 0}

# Valid requests may still meet a precondition (412/428: a generated rev is not the current one)
# or, for Mango, an upstream refusal of a well-formed but meaningless selector (400). And
# schemathesis's coverage phase only puts [A-Za-z0-9] into headers: it cannot build a quoted
# If-Match ("<rev>"), so what it sends there as valid is not, and gets a 400.
_PRECONDITIONS = ['2xx', '304', '401', '403', '404', '409', '412', '428']
# schemathesis's WSGI transport asks for gzip (requests' default headers) but never decodes it.
HEADERS = dict(KEY_HEADER, **{'Accept-Encoding': 'identity'})
CONFIG = schemathesis.Config.from_dict(
    {
        'headers': HEADERS,
        'generation': {'mode': 'all', 'max-examples': MAX_EXAMPLES, 'database': 'none'},
        'checks': {
            'positive_data_acceptance': {'expected-statuses': _PRECONDITIONS},
            'missing_required_header': {'expected-statuses': ['400', '401', '428']},
        },
        'operations': [
            {
                'include-operation-id': 'find',
                'checks': {'positive_data_acceptance': {'expected-statuses': ['2xx', '400']}},
            },
            *[
                {
                    'include-operation-id': operation,
                    'phases': {
                        'coverage': {
                            'checks': {
                                'positive_data_acceptance': {'expected-statuses': [*_PRECONDITIONS, '400']}
                            }
                        }
                    },
                }
                for operation in ('putDocument', 'deleteDocument')
            ],
        ],
    }
)


# The document is built before the server exists (pytest collects one test per operation from it),
# by an app that never calls its upstream; the fixture checks that the app under test serves it.
DB = 'fuzzed'
_settings = Settings.from_env({'CLOUDANT_DATABASES': DB, 'API_KEYS': TEST_KEYS})
schema = schemathesis.openapi.from_dict(
    testing.TestClient(create_app(build_injector(_settings))).simulate_get('/openapi.json').json,
    config=CONFIG,
)


@pytest.fixture
def app(make_client, make_db, couch_admin):
    make_db(DB)
    couch_admin.post(f'{DB}/_bulk_docs', json={'docs': [{'_id': f'doc-{i}', 'n': i} for i in range(5)]})
    client = make_client(DB)
    assert client.simulate_get('/openapi.json').json == schema.raw_schema
    return client.app


@pytest.fixture(scope='module', autouse=True)
def report_the_count(request):
    yield
    capture = request.config.pluginmanager.get_plugin('capturemanager')
    with capture.global_and_fixture_disabled():
        print(f'\nschemathesis cases run: {GENERATED["cases"]}')


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_every_promise_of_its_openapi_document(case, app):
    GENERATED['cases'] += 1
    case.operation.schema.app = app  # also for the checks that send requests of their own
    case.call_and_validate(app=app, headers=HEADERS)
