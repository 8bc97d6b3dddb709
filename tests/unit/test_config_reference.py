"""api/config/variables.py: the code reads the environment through it; docs and app.json follow it."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from api.cli import config_reference
from api.cli.config_reference import APP_JSON, CONFIGURATION, ROOT, stale
from api.config import Settings
from api.config.environment import APP_VARIABLES, Environment, UndocumentedVariable
from api.config.reference import default_text, markdown
from api.config.variables import BY_NAME, VARIABLES

REGENERATE = 'out of date: edit api/config/variables.py, then `python -m api.cli.config_reference --write`'


class RecordingEnv(dict[str, str]):
    """An environment that notes every name looked up in it."""

    def __init__(self, **values: str) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return super().__getitem__(name)


def test_the_configuration_page_and_app_json_say_what_the_table_says() -> None:
    assert stale() == [], f'{" and ".join(stale())} {REGENERATE}'


def test_the_command_prints_the_configuration_table(capsys: pytest.CaptureFixture[str]) -> None:
    config_reference.main([])
    assert capsys.readouterr().out == markdown()


def test_settings_read_every_variable_of_the_app_and_nothing_else() -> None:
    env = RecordingEnv()
    Settings.from_env(env)
    assert env.read == APP_VARIABLES


def test_reading_a_variable_the_table_does_not_describe_fails_loudly() -> None:
    env = Environment({'COUCHGATE_NEW_KNOB': '1', 'COUCH_PORT': '5984'})
    for name in ('COUCHGATE_NEW_KNOB', 'COUCH_PORT'):  # the local group is not the app's to read
        with pytest.raises(UndocumentedVariable, match=f'{name} is not in api/config/variables.py'):
            env.get(name)


def test_only_the_settings_read_the_environment() -> None:
    # Writing is allowed (gunicorn's master exports the metrics directory to its workers).
    reading = re.compile(r'os\.environ(?!\s*\[[^]]+\]\s*=)|os\.getenv|environ\.get')
    sources = [*ROOT.joinpath('api').rglob('*.py'), ROOT / 'gunicorn.conf.py', ROOT / 'container.py']
    readers = {
        str(path.relative_to(ROOT)) for path in sources if reading.search(path.read_text(encoding='utf-8'))
    }
    assert readers == {'api/config/settings.py'}


def test_every_default_shown_is_the_default_settings_use() -> None:
    fields = {field.name for field in dataclasses.fields(Settings)}
    unset = Settings.from_env({})
    for variable in VARIABLES:
        if variable.setting:
            assert variable.setting in fields, variable.name
            assert getattr(unset, variable.setting) == getattr(Settings, variable.setting), variable.name
    assert default_text(BY_NAME['CLOUDANT_CONNECT_TIMEOUT']) == f'{Settings.connect_timeout:g} s'


def test_the_local_scripts_read_only_variables_of_the_table_with_its_defaults() -> None:
    scripts = [ROOT / 'Procfile', ROOT / 'Procfile.dev', *ROOT.joinpath('bin').iterdir()]
    text = '\n'.join(path.read_text(encoding='utf-8') for path in scripts)
    used = re.findall(r'\$\{?([A-Z][A-Z0-9_]*)(?::-([^}]*))?', text)
    assert {name for name, _ in used} <= set(BY_NAME)
    local = [variable for variable in VARIABLES if variable.group == 'local']
    assert local, 'COUCH_PORT at least'
    for variable in local:
        assert {default for name, default in used if name == variable.name} == {variable.shown}, variable.name


def test_app_json_holds_every_variable_a_dyno_reads_except_those_heroku_sets() -> None:
    env = json.loads(APP_JSON.read_text(encoding='utf-8'))['env']
    set_by_heroku = {variable.name for variable in VARIABLES if variable.heroku == 'platform'}
    assert set_by_heroku == {'PORT', 'WEB_CONCURRENCY'}
    assert set(env) == APP_VARIABLES - set_by_heroku, REGENERATE
    assert env['CLOUDANT_URL']['required'] is True
    for variable in VARIABLES:
        if variable.secret:
            assert env[variable.name] == {'description': env[variable.name]['description'], 'required': False}
    assert all(spec['description'] and '`' not in spec['description'] for spec in env.values())


def test_the_configuration_page_holds_the_table_in_its_section() -> None:
    page = CONFIGURATION.read_text(encoding='utf-8')
    start = page.index('\n## Every variable\n')
    end = page.find('\n## ', start + 1)
    section = page[start : end if end >= 0 else len(page)]
    assert config_reference.START in section and config_reference.END in section
    assert all(f'| `{variable.name}`' in section for variable in VARIABLES)
