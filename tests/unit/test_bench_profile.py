"""The profile's per-layer table: each sample counted once, for the innermost library of its stack."""

from bench.layers import layer, table
from bench.profile import summarize

GUNICORN = 'handle_request (gunicorn/workers/gthread.py)'
FALCON = 'App.__call__ (falcon/app.py)'
SDK = 'BaseService.send (ibm_cloud_sdk_core/base_service.py)'


def test_a_library_called_through_others_counts_as_itself():
    stack = [
        GUNICORN,
        FALCON,
        'Documents.on_get (resources/documents.py)',
        SDK,
        'Session.send (requests/sessions.py)',
    ]
    assert layer(stack) == 'requests'
    assert layer([*stack, 'urlopen (urllib3/connectionpool.py)', 'recv_into (ssl.py)']).startswith('urllib3')


def test_the_standard_library_counts_for_its_caller():
    log = [
        GUNICORN,
        FALCON,
        'RequestLog.process_response (api/edge/request_log.py)',
        'Logger.info (logging/__init__.py)',
    ]
    assert layer([*log, 'dumps (json/__init__.py)']).startswith('log lines')
    assert (
        layer([GUNICORN, FALCON, 'SecurityHeaders.process_response (api/edge/headers.py)'])
        == 'middleware: headers'
    )
    assert layer([GUNICORN, FALCON]).startswith('Falcon')
    assert layer([GUNICORN]).startswith('gunicorn')


def test_the_summary_gives_ms_per_request_by_layer():
    raw = f'process 1;{GUNICORN};{FALCON} 300\nprocess 1;{GUNICORN} 100\n'
    assert table([([GUNICORN], 100)], 0.01)[-1] == '| **all** | 100 | 1.000 |'
    summary = summarize(raw, requests=1000)
    assert '| Falcon (routing, request, response) | 75.0 | 1.500 |' in summary
    assert '| gunicorn (HTTP parsing, worker loop) | 25.0 | 0.500 |' in summary
