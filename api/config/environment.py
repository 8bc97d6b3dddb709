"""The environment as Settings may read it: only variables the table describes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from api.config.variables import VARIABLES

# What the app itself reads; the local group belongs to `make run`'s scripts.
APP_VARIABLES = frozenset(variable.name for variable in VARIABLES if variable.group != 'local')


class UndocumentedVariable(AssertionError):
    """Code read a variable api/config/variables.py does not describe: a bug, not a bad value."""


class Environment(Mapping[str, str]):
    """A read-only view of `env` that refuses any name outside the table, so none goes undocumented."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, name: str) -> str:
        # Not a KeyError: Mapping.get() would turn that into its default and hide the bug.
        if name not in APP_VARIABLES:
            raise UndocumentedVariable(
                f'{name} is not in api/config/variables.py: describe it there, then run '
                '`python -m api.cli.config_reference --write`'
            )
        return self._env[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in sorted(APP_VARIABLES) if name in self._env)

    def __len__(self) -> int:
        return sum(1 for _ in self)
