"""What gunicorn.conf.py's hooks do in the master: the pool warning and the upstream check."""

import logging

import pytest

from api.config import Settings
from api.serving.hooks import check_upstream, pool_warning
from tests.support.fakes import FakeCouch


def test_a_pool_below_the_threads_is_raised_with_a_warning():
    settings = Settings.from_env({'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '2'})
    assert (settings.pool_maxsize, settings.pool_maxsize_requested) == (4, 2)
    assert pool_warning(settings) == (
        'CLOUDANT_POOL_MAXSIZE=2 is below GUNICORN_THREADS=4: threads would '
        'open and discard extra connections; using 4'
    )


@pytest.mark.parametrize(
    'env',
    [
        {},
        {'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '4'},
        {'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '16'},
    ],
)
def test_no_pool_warning_when_the_pool_covers_the_threads(env):
    assert pool_warning(Settings.from_env(env)) is None


class UnreachableCouch(FakeCouch):
    def ping(self):
        raise RuntimeError('token request failed for apikey hunter2')


@pytest.mark.parametrize(
    'couch, level, status, problem',
    [
        (FakeCouch('foundbite'), 'INFO', 200, None),
        (UnreachableCouch('foundbite'), 'WARNING', 503, 'RuntimeError'),
    ],
)
def test_the_masters_upstream_check_logs_and_never_raises(couch, level, status, problem, caplog):
    caplog.set_level(logging.INFO, logger='couchgate.server')
    assert check_upstream(couch) is (status == 200)
    [record] = [r for r in caplog.records if r.name == 'couchgate.server']
    assert record.levelname == level
    assert (record.fields['status'], record.fields.get('problem')) == (status, problem)
    assert 'hunter2' not in caplog.text
