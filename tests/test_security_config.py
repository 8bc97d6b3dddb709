"""The API-edge settings: keys, the read policy, the body limit, CORS origins."""
import pytest

from api.config import ConfigError, Settings

KEY = 'k' * 16


def test_defaults_are_closed_writes_public_reads_one_mib_and_no_cors():
    s = Settings.from_env({})
    assert (s.api_keys, s.require_key_for_reads, s.max_body_bytes, s.cors_allow_origins) == ((), False, 1048576, ())


def test_keys_carry_names_and_bare_keys_are_numbered():
    s = Settings.from_env({'API_KEYS': f' ci:{KEY}1 , {KEY}2,ops.team-1:{KEY}/+=~_.-3 '})
    assert s.api_keys == (('ci', f'{KEY}1'), ('key-2', f'{KEY}2'), ('ops.team-1', f'{KEY}/+=~_.-3'))
    assert KEY not in repr(s)


@pytest.mark.parametrize('raw, message', [
    ('ci:short-secret', 'key 1 (ci) must be at least 16'),
    (f'ci:{KEY}, ci:{KEY}x', 'unique'),
    (f'a:{KEY},b:{KEY}', 'unique'),
    (f'bad name:{KEY}', 'the name of key 1'),
    (f'ci:{KEY} with space', 'key 1'),
    (f'ci:{KEY}é', 'key 1'),
    (f'ci:x:{KEY}', 'key 1'),
])
def test_bad_keys_stop_start_up_naming_the_entry_never_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({'API_KEYS': raw})
    assert message in str(caught.value) and 'API_KEYS' in str(caught.value)
    assert KEY not in str(caught.value) and 'short-secret' not in str(caught.value)


def test_reads_behind_a_key_need_keys_and_a_clear_boolean():
    assert Settings.from_env({'API_KEYS': f'ci:{KEY}', 'API_REQUIRE_KEY_FOR_READS': 'true'}).require_key_for_reads
    assert not Settings.from_env({'API_REQUIRE_KEY_FOR_READS': '0'}).require_key_for_reads
    with pytest.raises(ConfigError, match='API_REQUIRE_KEY_FOR_READS needs API_KEYS'):
        Settings.from_env({'API_REQUIRE_KEY_FOR_READS': '1'})
    with pytest.raises(ConfigError, match='API_REQUIRE_KEY_FOR_READS must be 1 or 0'):
        Settings.from_env({'API_KEYS': f'ci:{KEY}', 'API_REQUIRE_KEY_FOR_READS': 'sometimes'})


def test_body_limit_is_a_whole_number_of_at_least_a_kibibyte():
    assert Settings.from_env({'API_MAX_BODY_BYTES': '2048'}).max_body_bytes == 2048
    for bad in ['1mb', '10', '-1']:
        with pytest.raises(ConfigError, match='API_MAX_BODY_BYTES'):
            Settings.from_env({'API_MAX_BODY_BYTES': bad})


def test_cors_origins_are_exact_origins_or_a_lone_star():
    s = Settings.from_env({'CORS_ALLOW_ORIGINS': 'https://app.example.com, http://localhost:3000/'})
    assert s.cors_allow_origins == ('https://app.example.com', 'http://localhost:3000')
    assert Settings.from_env({'CORS_ALLOW_ORIGINS': '*'}).cors_allow_origins == ('*',)
    for bad in ['app.example.com', 'https://app.example.com/path', '*,https://a.example.com', 'ftp://x']:
        with pytest.raises(ConfigError, match='CORS_ALLOW_ORIGINS'):
            Settings.from_env({'CORS_ALLOW_ORIGINS': bad})
