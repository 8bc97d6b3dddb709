"""gunicorn's side: settings it reads, the JSON access line, the pool warning and the pool hooks."""
import json
import logging
import os
import re
import types
from datetime import timedelta

import pytest
from gunicorn.config import Config

from api.upstream import session as pool
from api.config import ConfigError, Settings
from api.cli.procfile import PROCFILE, process_command
from api.observability.access_log import JsonAccessLogger
from api.serving import check_upstream, pool_warning
from tests.fakes import FakeCouch
from tests.support.gunicorn_process import REPO_ROOT
from tests.support.poll import wait_for


def test_gunicorn_settings_default_to_two_workers_on_port_8000_without_preload():
    s = Settings.from_env({})
    assert (s.workers, s.port, s.preload_app, s.pool_maxsize_requested) == (2, 8000, False, None)


def test_gunicorn_settings_come_from_herokus_variables():
    s = Settings.from_env({'WEB_CONCURRENCY': '5', 'PORT': '41234', 'PRELOAD_APP': 'true'})
    assert (s.workers, s.port, s.preload_app) == (5, 41234, True)
    assert Settings.from_env({'PRELOAD_APP': '0'}).preload_app is False


@pytest.mark.parametrize('env, variable', [
    ({'WEB_CONCURRENCY': '0'}, 'WEB_CONCURRENCY'),
    ({'WEB_CONCURRENCY': 'two'}, 'WEB_CONCURRENCY'),
    ({'PORT': '70000'}, 'PORT'),
    ({'PRELOAD_APP': 'sometimes'}, 'PRELOAD_APP'),
])
def test_bad_gunicorn_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


def test_a_pool_below_the_threads_is_raised_with_a_warning():
    settings = Settings.from_env({'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '2'})
    assert (settings.pool_maxsize, settings.pool_maxsize_requested) == (4, 2)
    assert pool_warning(settings) == ('CLOUDANT_POOL_MAXSIZE=2 is below GUNICORN_THREADS=4: threads would '
                                      'open and discard extra connections; using 4')


@pytest.mark.parametrize('env', [{}, {'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '4'},
                                 {'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '16'}])
def test_no_pool_warning_when_the_pool_covers_the_threads(env):
    assert pool_warning(Settings.from_env(env)) is None


def test_the_access_line_is_json_with_the_apps_request_id_whatever_the_path(capsys):
    cfg = Config()
    cfg.set('accesslog', '-')
    logger = JsonAccessLogger(cfg)
    resp = types.SimpleNamespace(status='404 Not Found', sent=57,
                                 headers=[('Content-Type', 'application/json'), ('X-Request-ID', 'abc-1')])
    req = types.SimpleNamespace(headers=[('USER-AGENT', 'curl "quoted" \\ back')])
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v1/a"b\\c/docs', 'RAW_URI': '/v1/a%22b%5Cc/docs',
               'SERVER_PROTOCOL': 'HTTP/1.1', 'QUERY_STRING': '', 'REMOTE_ADDR': '10.0.0.1'}
    logger.access(resp, req, environ, timedelta(milliseconds=12, microseconds=340))
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line['logger'] == 'gunicorn.access'
    assert (line['request_id'], line['method'], line['path'], line['status'], line['bytes']) == \
        ('abc-1', 'GET', '/v1/a"b\\c/docs', 404, 57)
    assert (line['duration_ms'], line['pid'], line['forwarded_for']) == (12.3, os.getpid(), '10.0.0.1')


class UnreachableCouch(FakeCouch):
    def ping(self):
        raise RuntimeError('token request failed for apikey hunter2')


@pytest.mark.parametrize('couch, level, status, problem', [
    (FakeCouch('foundbite'), 'INFO', 200, None),
    (UnreachableCouch('foundbite'), 'WARNING', 503, 'RuntimeError'),
])
def test_the_masters_upstream_check_logs_and_never_raises(couch, level, status, problem, caplog):
    caplog.set_level(logging.INFO, logger='couchgate.server')
    assert check_upstream(couch) is (status == 200)
    [record] = [r for r in caplog.records if r.name == 'couchgate.server']
    assert record.levelname == level
    assert (record.fields['status'], record.fields.get('problem')) == (status, problem)
    assert 'hunter2' not in caplog.text


def test_close_all_closes_the_idle_pooled_connections_of_this_process(front, ca_bundle):
    session = pool.build_session(pool_maxsize=2, ca_bundle=ca_bundle)
    assert session.get(front.url + '/', timeout=10).status_code == 200
    assert front.open_connections == 1
    adapters, closed = pool.close_all()
    assert adapters >= 1 and closed >= 1
    wait_for(lambda: front.open_connections == 0, 'the front seeing the close')


def test_reset_after_fork_leaves_the_parents_connections_behind_in_the_child(front, ca_bundle):
    session = pool.build_session(pool_maxsize=2, ca_bundle=ca_bundle)
    assert session.get(front.url + '/', timeout=10).status_code == 200
    assert pool.reset_after_fork()[1] == 0  # same process: nothing to reset
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            adapters, inherited = pool.reset_after_fork()
            again = pool.reset_after_fork()
            status = session.get(front.url + '/', timeout=10).status_code
            os.write(write_end, json.dumps([adapters, inherited, again, status]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        adapters, inherited, again, status = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert adapters >= 1 and inherited >= 1 and again[1] == 0 and status == 200
    assert front.accepted_connections == 2  # the child opened its own
    session.close()


def test_the_procfile_runs_the_release_phase_and_app_json_documents_every_variable():
    assert process_command('release', PROCFILE) == 'python -m api.release'
    app = json.loads((REPO_ROOT / 'app.json').read_text())
    read = set(re.findall(r"'((?:CLOUDANT|GUNICORN|LOG|PRELOAD)_[A-Z_]+)'", (REPO_ROOT / 'api/config/settings.py').read_text()))
    assert read <= set(app['env'])
    assert all(spec['description'] for spec in app['env'].values())
    assert app['env']['CLOUDANT_URL']['required'] is True
    assert 'PORT' not in app['env'] and 'WEB_CONCURRENCY' not in app['env']  # Heroku sets them
