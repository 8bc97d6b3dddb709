"""Run a process of the Procfile exactly as Heroku would: `python -m api.cli.procfile web`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[2] / 'Procfile'

# Heroku's (and honcho's) syntax: other lines, comments included, are ignored.
_PROCESS_LINE = re.compile(r'^([A-Za-z0-9_-]+):\s*(.+)$')
_NOT_SIMPLE = re.compile(r'[;&|\n]|^\s*([({!]|(if|while|until|for|case)\b|\S*=)')


class ProcessNotFound(LookupError):
    """A Procfile has no line for the requested process type."""


def process_command(name: str, path: str | Path = PROCFILE) -> str:
    """Return the command of process type `name` in the Procfile at `path`."""
    path = Path(path)
    found = []
    for line in path.read_text(encoding='utf-8').splitlines():
        match = _PROCESS_LINE.match(line.strip())
        if match and match.group(1) == name:
            return match.group(2).strip()
        if match:
            found.append(match.group(1))
    raise ProcessNotFound(f'{path} has no {name!r} process (it has: {", ".join(found) or "none"})')


def shell_command(command: str) -> str:
    """The `sh -c` argument that leaves no shell between the caller and a simple command."""
    # dash (Debian's and Heroku's /bin/sh) forks the last command of `sh -c` instead of
    # exec-ing it, and a shell killed by SIGTERM leaves that child running. Lists,
    # pipelines, compound commands and leading assignments are run as written.
    return command if _NOT_SIMPLE.search(command) else f'exec {command}'


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m api.cli.procfile',
        description='Exec the command of a Procfile process through /bin/sh -c.',
    )
    parser.add_argument('name', help='process type, e.g. web')
    parser.add_argument('--procfile', default=PROCFILE, type=Path, help='default: %(default)s')
    args = parser.parse_args(argv)
    try:
        command = process_command(args.name, args.procfile)
    except (OSError, ProcessNotFound) as error:
        parser.exit(2, f'procfile: {error}\n')
    # Heroku runs commands from the app root, where the Procfile lives.
    os.chdir(args.procfile.resolve().parent)
    sys.stdout.flush()
    # exec, not a child: gunicorn must receive SIGTERM/SIGINT itself.
    os.execvp('/bin/sh', ['/bin/sh', '-c', shell_command(command)])


if __name__ == '__main__':
    main()
