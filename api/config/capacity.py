"""Per-second budgets by Cloudant request class: CLOUDANT_CAPACITY, quotas of keys, API_ANONYMOUS_QUOTA."""

from __future__ import annotations

import dataclasses

from api.config.values import ConfigError

CLASSES = ('reads', 'writes', 'queries')


@dataclasses.dataclass(frozen=True)
class PerClass:
    """Requests per second by class; None: that class is not limited."""

    reads: int | None = None
    writes: int | None = None
    queries: int | None = None

    def of(self, request_class: str) -> int | None:
        return getattr(self, request_class)

    def describe(self) -> str:
        return ','.join(f'{c}={self.of(c)}' for c in CLASSES if self.of(c) is not None)

    def split(self, parts: int) -> PerClass:
        """This budget divided among `parts` workers that cannot share a count (at least 1 each)."""
        return PerClass(*(None if (n := self.of(c)) is None else max(1, n // parts) for c in CLASSES))


def per_class(raw: str, name: str, *, every_class: bool) -> PerClass:
    """`reads=100,writes=50,queries=5` (classes left out are unlimited, unless `every_class`)."""
    values: dict[str, int] = {}
    for entry in (e.strip() for e in raw.split(',') if e.strip()):
        request_class, _, number = entry.partition('=')
        request_class = request_class.strip()
        if request_class not in CLASSES or request_class in values:
            raise ConfigError(f'{name} must be like reads=100,writes=50,queries=5 (each class once)')
        try:
            values[request_class] = int(number)
        except ValueError:
            raise ConfigError(f'{name}: {request_class} must be a whole number per second') from None
        if values[request_class] < 1:
            raise ConfigError(f'{name}: {request_class} must be at least 1 per second')
    if not values or (every_class and len(values) < len(CLASSES)):
        wanted = 'every class' if every_class else 'at least one class'
        raise ConfigError(f'{name} must name {wanted}: reads=100,writes=50,queries=5')
    return PerClass(**values)


def quota_member(value: object, which: str, variable: str = 'API_KEYS') -> PerClass:
    """The `quota` member of a key object: {"reads": 20, "writes": 5, "queries": 2}."""
    if (
        not isinstance(value, dict)
        or not value
        or not all(k in CLASSES and type(v) is int and v >= 1 for k, v in value.items())
    ):
        raise ConfigError(
            f'{variable}: the "quota" of {which} must be an object of reads, writes, queries '
            '(whole numbers >= 1)'
        )
    return PerClass(**value)
