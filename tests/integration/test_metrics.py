"""The pool feeds the metrics from its own events: the same counts the request records, and the front, see."""

from prometheus_client.parser import text_string_to_metric_families

from api.config import Settings
from api.observability.metrics import Metrics
from api.upstream.connections import start_recording, stop_recording
from api.upstream.session import build_session


def samples(metrics: Metrics) -> dict:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def test_the_pool_reports_each_event_it_credits_to_requests(front, ca_bundle):
    metrics = Metrics(Settings.from_env({'GUNICORN_THREADS': '1'}))
    # Three responses held open at once on a pool of one: two connections cannot go back.
    session = build_session(pool_maxsize=1, ca_bundle=ca_bundle, listener=metrics)
    record, token = start_recording()
    try:
        held = [session.get(front.url + '/', stream=True, timeout=10) for _ in range(3)]
        assert samples(metrics)[('couchgate_pool_connections_in_use', frozenset())] == 3
        for response in held:
            response.content  # noqa: B018 (reading to the end gives the connection back, or discards it)
        session.get(front.url + '/', timeout=10)
    finally:
        stop_recording(token)
    seen = samples(metrics)
    connections = {
        event: seen[('couchgate_upstream_connections_total', frozenset({('event', event)}))]
        for event in ('new', 'reused', 'discarded')
    }
    assert connections == {'new': record.new, 'reused': record.reused, 'discarded': record.discarded}
    assert connections == {'new': 3, 'reused': 1, 'discarded': 2}
    assert front.accepted_connections == 3
    assert seen[('couchgate_upstream_requests_total', frozenset())] == record.requests == 4
    assert seen[('couchgate_upstream_request_duration_seconds_count', frozenset())] == 4
    assert seen[('couchgate_pool_connections_in_use', frozenset())] == 0
    assert seen[('couchgate_pool_max_connections', frozenset())] == 1
