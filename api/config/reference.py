"""The table of variables as people read it: docs/configuration.md's Markdown and app.json's `env`."""

from __future__ import annotations

import re

from api.config.settings import Settings
from api.config.variables import GROUPS, VARIABLES, Variable

NOTE = (
    '<!-- Generated from api/config/variables.py by `python -m api.cli.config_reference --write`:'
    ' edit the table there, not here. -->'
)
_LINK = re.compile(r'\[([^\]]+)\]\([^)]*\)')


def default_value(variable: Variable) -> object:
    """What an unset variable means, as Settings.from_env uses it (None: no default of its own)."""
    return getattr(Settings, variable.setting) if variable.setting else None


def default_text(variable: Variable) -> str:
    """The default as docs/configuration.md shows it, in Markdown."""
    value = default_value(variable)
    if value is None or value == ():
        shown = 'none'
    elif isinstance(value, bool):
        shown = f'`{int(value)}`'
    elif isinstance(value, str):
        shown = f'`{value}`'
    else:
        shown = f'{spelled(value)} {variable.unit}'.strip()
    return variable.shown.format(shown)


def spelled(value: object) -> str:
    """A default as one would write it in the environment."""
    if isinstance(value, bool):
        return str(int(value))
    return f'{value:g}' if isinstance(value, float) else str(value)


def markdown() -> str:
    """docs/configuration.md's tables, one per group, each line ending in a newline."""
    lines = [NOTE]
    for group, title in GROUPS.items():
        lines += ['', f'**{title}**', '', '| variable | default | meaning |', '|---|---|---|']
        for variable in VARIABLES:
            if variable.group == group:
                name = f'`{variable.name}`' + (' (secret)' if variable.secret else '')
                cells = (name, default_text(variable), variable.meaning)
                lines.append('| ' + ' | '.join(cell.replace('|', r'\|') for cell in cells) + ' |')
    return '\n'.join(lines) + '\n'


def plain(markdown_text: str) -> str:
    """app.json's descriptions are plain text: no code spans, no links."""
    return _LINK.sub(r'\1', markdown_text).replace('`', '')


def description(variable: Variable) -> str:
    text = plain(variable.meaning)
    text = text[:1].upper() + text[1:] + '.'
    if variable.heroku == 'required':
        return text
    return f'{text} Default: {plain(default_text(variable))}.'


def app_json_env() -> dict[str, dict[str, object]]:
    """app.json's `env`: every variable a dyno reads except those Heroku sets itself."""
    env: dict[str, dict[str, object]] = {}
    for variable in VARIABLES:
        if variable.heroku in ('platform', 'omitted'):
            continue
        spec: dict[str, object] = {
            'description': description(variable),
            'required': variable.heroku == 'required',
        }
        if variable.heroku == 'value':
            value = variable.heroku_value
            spec['value'] = spelled(default_value(variable)) if value is None else value
        env[variable.name] = spec
    return env
