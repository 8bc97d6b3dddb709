"""The retry policy: what may be repeated, when, and how long to wait; its settings."""

import pytest
from urllib3 import HTTPConnectionPool, HTTPResponse
from urllib3.connection import HTTPConnection
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from api.config import ConfigError, Settings
from api.upstream.retry import may_repeat, upstream_retry


@pytest.mark.parametrize(
    'method, url, repeatable',
    [
        ('GET', '/db/doc', True),
        ('HEAD', '/db', True),
        ('PUT', '/db/doc?rev=1-abc', True),
        ('DELETE', '/db/doc?rev=1-abc', True),
        ('PUT', '/db/doc', False),  # creates: a repeat of an applied create would answer 409
        ('DELETE', '/db/doc', False),
        ('POST', '/db', False),
        ('POST', '/db/_find', False),
        ('PUT', '/db/doc?revs=true', False),
    ],
)
def test_only_reads_and_revision_guarded_writes_may_be_repeated(method, url, repeatable):
    assert may_repeat(method, url) is repeatable


def throttled(status=429, retry_after=None):
    headers = {'Retry-After': retry_after} if retry_after is not None else {}
    return HTTPResponse(status=status, headers=headers, preload_content=False)


def test_a_connect_error_is_retried_for_any_method():
    retry = upstream_retry(max_retries=2)
    again = retry.increment('POST', '/db', error=NewConnectionError(HTTPConnection('127.0.0.1'), 'refused'))
    assert again.total == 1


def test_a_dropped_connection_is_retried_for_reads_only():
    retry = upstream_retry()
    assert retry.increment('GET', '/db/doc', error=ProtocolError('reset')).total == 1
    for method, url in [('POST', '/db'), ('PUT', '/db/doc'), ('PUT', '/db/doc?rev=1-a')]:
        with pytest.raises(ProtocolError):
            retry.increment(method, url, error=ProtocolError('reset'))


def test_a_read_timeout_is_never_retried():
    timeout = ReadTimeoutError(HTTPConnectionPool('127.0.0.1'), '/db/doc', 'slow')
    with pytest.raises(ReadTimeoutError):
        upstream_retry().increment('GET', '/db/doc', error=timeout)


def test_throttling_is_retried_within_the_budget_and_the_cap():
    retry = upstream_retry(max_retries=2, max_wait=2)
    assert retry.is_retry('GET', 429) and retry.is_retry('PUT', 503) and not retry.is_retry('POST', 429)
    once = retry.increment('GET', '/db/doc', response=throttled(retry_after='2'))
    twice = once.increment('GET', '/db/doc', response=throttled(503))
    with pytest.raises(MaxRetryError):
        twice.increment('GET', '/db/doc', response=throttled())
    with pytest.raises(MaxRetryError):  # the server asks for more than we may wait: answer now
        retry.increment('GET', '/db/doc', response=throttled(retry_after='3'))
    with pytest.raises(MaxRetryError):
        retry.increment('PUT', '/db/doc', response=throttled())


def test_an_unreadable_retry_after_falls_back_to_the_backoff():
    retry = upstream_retry(max_wait=2).increment('GET', '/db/doc', response=throttled(retry_after='soon'))
    assert retry.get_retry_after(throttled(retry_after='soon')) is None
    assert 0.1 <= retry.get_backoff_time() <= 0.2


def test_backoff_grows_with_jitter_and_stays_under_the_cap():
    retry = upstream_retry(max_retries=10, max_wait=0.5)
    for _ in range(4):
        retry = retry.increment('GET', '/db/doc', response=throttled(503))
    waits = {retry.get_backoff_time() for _ in range(20)}
    assert len(waits) > 1 and min(waits) >= 0.25 and max(waits) <= 0.5


def test_retry_settings_have_defaults_and_bounds():
    s = Settings.from_env({})
    assert (s.max_retries, s.retry_max_wait) == (2, 2.0)
    s = Settings.from_env({'CLOUDANT_MAX_RETRIES': '0', 'CLOUDANT_RETRY_MAX_WAIT': '0.5'})
    assert (s.max_retries, s.retry_max_wait) == (0, 0.5)
    for env, variable in [
        ({'CLOUDANT_MAX_RETRIES': '-1'}, 'CLOUDANT_MAX_RETRIES'),
        ({'CLOUDANT_MAX_RETRIES': '11'}, 'CLOUDANT_MAX_RETRIES'),
        ({'CLOUDANT_RETRY_MAX_WAIT': 'long'}, 'CLOUDANT_RETRY_MAX_WAIT'),
    ]:
        with pytest.raises(ConfigError, match=variable):
            Settings.from_env(env)
