"""Property-based testing of the whole API from its OpenAPI document (schemathesis, WSGI, real upstream).

Valid and invalid requests are generated for every documented operation and sent to the real
app, whose upstream is the real server behind the TLS front. Every check schemathesis has runs:
no 5xx, and every status, header, content type and body as documented. Then the stateful phase
follows the document's links (a write's or a read's ETag into If-Match, a listing's rows into
reads) through sequences of calls, and must reach successful updates (PUT 200) and deletes (204).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import schemathesis
from falcon import testing
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.config import Settings
from api.edge.openapi import DOC_ID_PATTERN
from api.edge.request_input import MAX_ID_LENGTH, REV_PATTERN
from container import build_injector
from tests.support.api_keys import TEST_KEY, TEST_KEYS

STATEFUL_SCENARIOS = 60
MAX_EXAMPLES = 100  # per operation and generation mode: about 1,000 cases in well under two minutes
GENERATED = {'cases': 0}
REACHED: Counter[tuple[str, int]] = Counter()  # (method, status) of every stateful step

# Valid requests may still meet a precondition (412/428: a generated rev is not the current one)
# or, for Mango, an upstream refusal of a well-formed but meaningless selector (400). And
# schemathesis's coverage phase only puts [A-Za-z0-9] into headers: it cannot build a quoted
# If-Match ("<rev>"), so what it sends there as valid is not, and gets a 400.
_PRECONDITIONS = ['2xx', '304', '401', '403', '404', '409', '412', '428']
# What schemathesis expects an invalid request to get by default.
_REFUSALS = ['400', '401', '403', '404', '405', '406', '409', '415', '422', '428', '429', '5xx']
# schemathesis's WSGI transport asks for gzip (requests' default headers) but never decodes it.
HEADERS = {'Accept-Encoding': 'identity'}
CONFIG = schemathesis.Config.from_dict(
    {
        # As explicit auth, not a header: then the checks know it is valid, and probe without it.
        'auth': {'openapi': {'apiKey': {'bearer': TEST_KEY}}},
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
            *[
                # More than 1,000 items is too large a request (413), as a body over API_MAX_BODY_BYTES.
                {
                    'include-operation-id': operation,
                    'checks': {'negative_data_rejection': {'expected-statuses': [*_REFUSALS, '413']}},
                }
                for operation in ('bulkWrite', 'lookupDocuments')
            ],
            *[
                # The same Idempotency-Key with another body: 422 idempotency-key-reused.
                {
                    'include-operation-id': operation,
                    'checks': {'positive_data_acceptance': {'expected-statuses': [*_PRECONDITIONS, '422']}},
                }
                for operation in ('createDocument', 'bulkWrite')
            ],
            # /sync speaks CouchDB's protocol, its bodies described as any object: one CouchDB does
            # not take (a batch without "docs", a number beyond 2**53) is its bad_request, and a
            # POST without Content-Type (the refusal of POST /sync/{db}/{rest}) a 415.
            {
                'include-tag': 'sync',
                'checks': {
                    'positive_data_acceptance': {'expected-statuses': [*_PRECONDITIONS, '400', '415']}
                },
            },
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


def seed(couch_admin) -> None:
    couch_admin.post(f'{DB}/_bulk_docs', json={'docs': [{'_id': f'doc-{i}', 'n': i} for i in range(5)]})


@pytest.fixture
def app(make_client, make_db, couch_admin):
    make_db(DB)
    seed(couch_admin)
    client = make_client(DB)
    assert client.simulate_get('/openapi.json').json == schema.raw_schema
    return client.app


def agree(case) -> None:
    """A PUT body's valid "_id" and "_rev" must also agree with the path and If-Match, which no
    schema can say. Called just before sending: the stateful phase fills in links after generation.
    Invalid values (a negative case's) are left as they are, for the API to refuse."""
    if case.method.upper() != 'PUT' or not isinstance(case.body, dict):
        return
    doc_id, rev = case.body.get('_id'), case.body.get('_rev')
    # The path's id may be percent-encoded here or not (generated, or taken from a link): a valid
    # "_id" that is not the same string is left out, rather than guessed.
    if _valid(doc_id, DOC_ID_PATTERN) and doc_id != case.path_parameters.get('doc_id'):
        del case.body['_id']
    if_match = (case.headers or {}).get('If-Match')
    if _valid(rev, REV_PATTERN) and if_match:
        case.body['_rev'] = if_match.strip('"')  # alone, "_rev" is the precondition: any rev goes


def _valid(value, pattern: str) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and re.search(pattern, value) is not None
    )


@pytest.fixture(scope='module', autouse=True)
def report_the_count(request):
    yield
    capture = request.config.pluginmanager.get_plugin('capturemanager')
    with capture.global_and_fixture_disabled():
        steps = ', '.join(f'{m} {s}: {n}' for (m, s), n in sorted(REACHED.items()))
        print(f'\nschemathesis cases run: {GENERATED["cases"]}; stateful steps: {REACHED.total()} ({steps})')


# Not the changes feed: an event stream never ends and a long poll may wait 25 s, which Falcon's test
# client would wait out; its contract has tests of its own (tests/e2e/test_changes.py, and
# tests/unit/test_change_subscriptions.py for its parameters and refusals).
@schema.exclude(operation_id='getChanges').parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_every_promise_of_its_openapi_document(case, app):
    GENERATED['cases'] += 1
    case.operation.schema.app = app  # also for the checks that send requests of their own
    agree(case)
    case.call_and_validate(app=app, headers=HEADERS)


def test_stateful_sequences_follow_the_links_to_successful_updates_and_deletes(app, couch_admin):
    schema.app = app
    failures: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self):
            # Each sequence starts from the same database: Hypothesis replays sequences, and one
            # that meets what an earlier one left behind draws differently ("flaky strategy").
            assert couch_admin.delete(DB).status_code == 200
            assert couch_admin.put(DB).status_code == 201
            seed(couch_admin)

        def before_call(self, case):
            agree(case)

        def after_call(self, response, case):
            super().after_call(response, case)
            REACHED[(case.method.upper(), response.status_code)] += 1

        def validate_response(self, response, case, *args, **kwargs):
            # Collected rather than raised: Hypothesis would replay the failing sequence against a
            # database the first run changed, and report only that the replay differs.
            try:
                super().validate_response(response, case, *args, **kwargs)
            except Exception as failure:  # schemathesis's FailureGroup, or one check's failure
                failures.append(f'{case.method} {case.formatted_path} -> {response.status_code}: {failure}')

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert not failures, '\n\n'.join(failures[:5])
    assert REACHED[('PUT', 200)] > 0, REACHED
    assert REACHED[('DELETE', 204)] > 0, REACHED
