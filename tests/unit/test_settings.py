"""Settings: one reader of the environment, clear errors that name the variable and never a secret.

A feature's own settings are tested with the feature (e.g. API_KEYS in test_api_keys.py).
"""

import pytest

from api.config import ConfigError, Settings


def test_defaults_point_at_the_local_server_without_auth():
    s = Settings.from_env({})
    assert (s.url, s.auth_type, s.databases, s.threads, s.pool_maxsize) == (
        'http://127.0.0.1:5984',
        'NOAUTH',
        (),
        8,
        8,
    )
    assert (s.connect_timeout, s.read_timeout) == (5.0, 20.0)


def test_userinfo_moves_from_the_url_into_credentials():
    s = Settings.from_env({'CLOUDANT_URL': 'https://admin:p%40ss@acct.example.com:6984/'})
    assert s.url == 'https://acct.example.com:6984'
    assert (s.username, s.password, s.auth_type) == ('admin', 'p@ss', 'BASIC')
    assert 'p@ss' not in repr(s)


def test_explicit_credentials_win_over_userinfo():
    s = Settings.from_env(
        {
            'CLOUDANT_URL': 'https://a:b@h',
            'CLOUDANT_USERNAME': 'u',
            'CLOUDANT_PASSWORD': 'p',
            'CLOUDANT_AUTH_TYPE': 'couchdb_session',
        }
    )
    assert (s.username, s.password, s.auth_type) == ('u', 'p', 'COUCHDB_SESSION')


def test_pool_is_sized_to_the_threads_and_never_below():
    assert Settings.from_env({'GUNICORN_THREADS': '4'}).pool_maxsize == 4
    assert Settings.from_env({'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '2'}).pool_maxsize == 4
    assert Settings.from_env({'GUNICORN_THREADS': '4', 'CLOUDANT_POOL_MAXSIZE': '10'}).pool_maxsize == 10


def test_allowlist_is_parsed_and_system_databases_refused():
    assert Settings.from_env({'CLOUDANT_DATABASES': ' foundbite, orders '}).databases == (
        'foundbite',
        'orders',
    )
    for bad in ['_users', 'ok,_replicator', 'Upper', '1abc']:
        with pytest.raises(ConfigError, match='CLOUDANT_DATABASES'):
            Settings.from_env({'CLOUDANT_DATABASES': bad})


@pytest.mark.parametrize(
    'env, variable',
    [
        ({'CLOUDANT_POOL_MAXSIZE': 'many'}, 'CLOUDANT_POOL_MAXSIZE'),
        ({'CLOUDANT_POOL_MAXSIZE': '0'}, 'CLOUDANT_POOL_MAXSIZE'),
        ({'GUNICORN_THREADS': '-1'}, 'GUNICORN_THREADS'),
        ({'CLOUDANT_AUTH_TYPE': 'KERBEROS'}, 'CLOUDANT_AUTH_TYPE'),
        ({'CLOUDANT_AUTH_TYPE': 'BASIC'}, 'CLOUDANT_AUTH_TYPE'),
        ({'CLOUDANT_AUTH_TYPE': 'IAM'}, 'CLOUDANT_APIKEY'),
        ({'CLOUDANT_URL': 'ftp://hunter2@host'}, 'CLOUDANT_URL'),
        ({'CLOUDANT_URL': 'https://u:hunter2@host:notaport'}, 'CLOUDANT_URL'),
        ({'CLOUDANT_CA_BUNDLE': '/nonexistent/ca.pem'}, 'CLOUDANT_CA_BUNDLE'),
        ({'CLOUDANT_READ_TIMEOUT': '0'}, 'CLOUDANT_READ_TIMEOUT'),
        ({'LOG_LEVEL': 'LOUD'}, 'LOG_LEVEL'),
        # What gunicorn reads (gunicorn.conf.py): Heroku's variables.
        ({'WEB_CONCURRENCY': '0'}, 'WEB_CONCURRENCY'),
        ({'WEB_CONCURRENCY': 'two'}, 'WEB_CONCURRENCY'),
        ({'PORT': '70000'}, 'PORT'),
        ({'PRELOAD_APP': 'sometimes'}, 'PRELOAD_APP'),
    ],
)
def test_bad_values_fail_with_a_line_naming_the_variable_not_the_secret(env, variable):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(env, CLOUDANT_PASSWORD='hunter2'))
    message = str(caught.value)
    assert variable in message and 'hunter2' not in message and '\n' not in message


def test_defaults_are_closed_writes_public_reads_one_mib_and_no_cors():
    s = Settings.from_env({})
    assert (s.api_keys, s.require_key_for_reads, s.max_body_bytes, s.cors_allow_origins) == (
        (),
        False,
        1048576,
        (),
    )


# --- what gunicorn reads (gunicorn.conf.py): Heroku's variables ----------------------------------


def test_gunicorn_settings_default_to_two_workers_on_port_8000_without_preload():
    s = Settings.from_env({})
    assert (s.workers, s.port, s.preload_app, s.pool_maxsize_requested) == (2, 8000, False, None)


def test_gunicorn_settings_come_from_herokus_variables():
    s = Settings.from_env({'WEB_CONCURRENCY': '5', 'PORT': '41234', 'PRELOAD_APP': 'true'})
    assert (s.workers, s.port, s.preload_app) == (5, 41234, True)
    assert Settings.from_env({'PRELOAD_APP': '0'}).preload_app is False
