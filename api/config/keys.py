"""API_KEYS: named keys, each with its scopes, databases and id prefix; only digests are kept."""

from __future__ import annotations

import dataclasses
import hashlib
import re

from api.config.capacity import PerClass, quota_member
from api.config.values import ConfigError, checked_name, json_array, named_object

MIN_API_KEY_LENGTH = 16
SCOPES = ('read', 'query', 'export', 'write')
_KEY = re.compile(r'[A-Za-z0-9._~+/=-]+')  # RFC 6750 b64token: fits a Bearer header as is
_SHA256 = re.compile(r'[0-9a-fA-F]{64}')
_ALPHABET = 'A-Z a-z 0-9 . _ ~ + / = -'
# The members a key object may have.
_MEMBERS = frozenset({'name', 'key', 'sha256', 'scopes', 'databases', 'id_prefix', 'quota'})


@dataclasses.dataclass(frozen=True)
class ApiKey:
    """One accepted key: its name, the SHA-256 of its bytes (never the key), and what it may do."""

    name: str
    digest: bytes = dataclasses.field(repr=False)
    scopes: frozenset[str] = frozenset(SCOPES)
    databases: frozenset[str] | None = None  # None: every database of CLOUDANT_DATABASES
    id_prefix: str | None = None
    quota: PerClass | None = None  # requests per second by class (the capacity guard)


def digest_of(key: str) -> bytes:
    """The SHA-256 of a key's UTF-8 bytes: what a `sha256` member holds, in hex."""
    return hashlib.sha256(key.encode('utf-8', 'surrogatepass')).digest()


def api_keys(raw: str, databases: tuple[str, ...]) -> tuple[ApiKey, ...]:
    """API_KEYS as a JSON array of key objects, or as `name:key`/bare keys, comma-separated.

    Messages name the key (its name or number), never its value.
    """
    keys = _objects(raw, databases) if raw.strip().startswith('[') else _pairs(raw)
    if len({key.digest for key in keys}) < len(keys):
        raise ConfigError('API_KEYS: keys must be unique')
    return keys


def _pairs(raw: str) -> tuple[ApiKey, ...]:
    keys = []
    for number, entry in enumerate((e.strip() for e in raw.split(',') if e.strip()), start=1):
        name, _, key = entry.rpartition(':') if ':' in entry else ('', '', entry)
        name = name.strip() or f'key-{number}'
        checked_name(name, 'API_KEYS', 'key', number)
        keys.append(ApiKey(name, _plain_digest(key.strip(), f'key {number} ({name})')))
    # Rotation needs a shared name, which only the JSON form offers: here a repeated name is a slip.
    if len({key.name for key in keys}) < len(keys):
        raise ConfigError('API_KEYS: names and keys must be unique')
    return tuple(keys)


def _objects(raw: str, databases: tuple[str, ...]) -> tuple[ApiKey, ...]:
    entries = json_array(raw, 'API_KEYS', 'key')
    keys = tuple(_key_object(entry, number, databases) for number, entry in enumerate(entries, start=1))
    _one_key_per_name(keys)
    return keys


def _one_key_per_name(keys: tuple[ApiKey, ...]) -> None:
    # Objects sharing a name are one key, rotated: its Idempotency-Key records and quota windows are
    # kept per name, so two names' worth of rights under one name would share (and leak) them.
    first: dict[str, tuple[int, ApiKey]] = {}
    for number, key in enumerate(keys, start=1):
        earlier = first.setdefault(key.name, (number, key))
        if earlier[1] is not key and _rights(earlier[1]) != _rights(key):
            differs = next(m for m in _RIGHTS if getattr(earlier[1], m) != getattr(key, m))
            raise ConfigError(
                f'API_KEYS: key {number} ({key.name}) shares its name with key {earlier[0]} but not its '
                f'"{differs}": keys of one name are one key, rotated, with the same scopes, databases, '
                'id_prefix and quota'
            )


_RIGHTS = ('scopes', 'databases', 'id_prefix', 'quota')


def _rights(key: ApiKey) -> tuple[object, ...]:
    return tuple(getattr(key, member) for member in _RIGHTS)


def _key_object(entry: object, number: int, databases: tuple[str, ...]) -> ApiKey:
    entry, which = named_object(entry, number, 'API_KEYS', 'key', _MEMBERS)
    name = entry['name']
    if ('key' in entry) == ('sha256' in entry):
        raise ConfigError(f'API_KEYS: {which} needs exactly one of "key" and "sha256"')
    if 'key' in entry:
        digest = _plain_digest(entry['key'], which)
    elif isinstance(entry['sha256'], str) and _SHA256.fullmatch(entry['sha256']):
        digest = bytes.fromhex(entry['sha256'])
    else:
        raise ConfigError(f'API_KEYS: the "sha256" of {which} must be 64 hex digits')
    # Required: least privilege is stated, never assumed (a `name:key` pair is the all-scopes form).
    scopes = entry.get('scopes')
    if not isinstance(scopes, list) or not scopes or not all(s in SCOPES for s in scopes):
        raise ConfigError(f'API_KEYS: the "scopes" of {which} must be a list of {", ".join(SCOPES)}')
    allowed = entry.get('databases')
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed or not all(isinstance(d, str) for d in allowed):
            raise ConfigError(f'API_KEYS: the "databases" of {which} must be a list of database names')
        outside = [d for d in allowed if d not in databases]
        if outside:
            raise ConfigError(
                f'API_KEYS: {which} names a database outside CLOUDANT_DATABASES: {outside[0]!r}'
            )
    prefix = entry.get('id_prefix')
    if prefix is not None and not (
        isinstance(prefix, str)
        and 0 < len(prefix) <= 256
        and not prefix.startswith('_')
        and prefix.isprintable()
    ):
        raise ConfigError(
            f'API_KEYS: the "id_prefix" of {which} must be 1-256 printable characters, not starting with "_"'
        )
    quota = entry.get('quota')
    return ApiKey(
        name,
        digest,
        frozenset(scopes),
        None if allowed is None else frozenset(allowed),
        prefix,
        None if quota is None else quota_member(quota, which),
    )


def _plain_digest(key: object, which: str) -> bytes:
    if not isinstance(key, str) or len(key) < MIN_API_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ConfigError(f'API_KEYS: {which} must be at least {MIN_API_KEY_LENGTH} of {_ALPHABET}')
    return digest_of(key)
