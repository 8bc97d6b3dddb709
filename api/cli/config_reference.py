"""docs/configuration.md's table of variables and app.json's `env`, from api/config/variables.py.

`python -m api.cli.config_reference` prints the table; `--write` rewrites both files; `--check`
exits 1 when either differs from the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from api.config.reference import app_json_env, markdown

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / 'docs' / 'configuration.md'
APP_JSON = ROOT / 'app.json'
START = '<!-- config-table:start -->'
END = '<!-- config-table:end -->'


class MissingMarkers(LookupError):
    """docs/configuration.md has no block for the table to go in."""


def table_in(page: str) -> str:
    """The text between the page's markers."""
    _, start, rest = page.partition(START)
    table, end, _ = rest.partition(END)
    if not (start and end):
        raise MissingMarkers(f'docs/configuration.md needs a line {START} and, after it, a line {END}')
    return table.removeprefix('\n')


def page_with_table(page: str) -> str:
    table_in(page)  # both markers are there
    before, _, rest = page.partition(START)
    _, _, after = rest.partition(END)
    return f'{before}{START}\n{markdown()}{END}{after}'


def app_json_with_env(text: str) -> str:
    app = json.loads(text)
    app['env'] = app_json_env()  # the other keys stay, in their order and on one line each
    entries = (f'  {json.dumps(key)}: {_laid_out(key, value)}' for key, value in app.items())
    return '{\n' + ',\n'.join(entries) + '\n}\n'


def _laid_out(key: str, value: object) -> str:
    if key != 'env':
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, indent=2, ensure_ascii=False).replace('\n', '\n  ')


def stale() -> list[str]:
    """The files that no longer say what the table says."""
    found = []
    if table_in(CONFIGURATION.read_text(encoding='utf-8')) != markdown():
        found.append('docs/configuration.md')
    # Compared as data, order included: how app.json's other keys are laid out is not the table's business.
    if list(json.loads(APP_JSON.read_text(encoding='utf-8'))['env'].items()) != list(app_json_env().items()):
        found.append(APP_JSON.name)
    return found


def write() -> None:
    CONFIGURATION.write_text(page_with_table(CONFIGURATION.read_text(encoding='utf-8')), encoding='utf-8')
    APP_JSON.write_text(app_json_with_env(APP_JSON.read_text(encoding='utf-8')), encoding='utf-8')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m api.cli.config_reference',
        description="docs/configuration.md's table of variables and app.json's env.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        '--write', action='store_true', help="rewrite the configuration page's table and app.json's env"
    )
    action.add_argument(
        '--check', action='store_true', help='exit 1 if the configuration page or app.json is out of date'
    )
    args = parser.parse_args(argv)
    try:
        if args.write:
            write()
        elif args.check:
            files = stale()
            if files:
                parser.exit(
                    1, f'{" and ".join(files)} out of date: run python -m api.cli.config_reference --write\n'
                )
        else:
            sys.stdout.write(markdown())
    except MissingMarkers as error:
        parser.exit(2, f'config_reference: {error}\n')


if __name__ == '__main__':
    main()
