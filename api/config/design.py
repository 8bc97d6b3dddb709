"""Views and indexes as code: `design/<db>/<ddoc>.json` and `design/<db>/indexes.json`, read once.

A design document's file holds its content without `_id` and `_rev` (the file name is the name),
views as JavaScript source inline. couchgate owns exactly the design documents named by these files
(and the index design documents that indexes.json names): no other is ever read or written.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from api.config.values import ConfigError

_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')
INDEXES_FILE = 'indexes.json'


@dataclasses.dataclass(frozen=True)
class Design:
    """The design documents and Mango indexes of each allowed database, as design/ defines them."""

    documents: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    indexes: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)

    def views(self, db: str) -> dict[str, dict[str, bool]]:
        """{ddoc: {view: has a reduce}} of one database."""
        return {
            ddoc: {name: 'reduce' in view for name, view in content.get('views', {}).items()}
            for ddoc, content in self.documents.get(db, {}).items()
            if content.get('views')
        }

    def ddoc_count(self, db: str) -> int:
        """How many design documents design/ puts in the database (views' and indexes')."""
        return len(set(self.documents.get(db, {})) | {i['ddoc'] for i in self.indexes.get(db, [])})

    def has_reduce(self, db: str, ddoc: str, view: str) -> bool | None:
        """Whether the view reduces; None if design/ defines no such view (then it is not served)."""
        return self.views(db).get(ddoc, {}).get(view)


def load_design(directory: str | Path, databases: tuple[str, ...]) -> Design:
    """design/ for the allowed databases; a missing directory is no design. ConfigError names a bad file."""
    root = Path(directory)
    documents: dict[str, dict[str, dict[str, Any]]] = {}
    indexes: dict[str, list[dict[str, Any]]] = {}
    for db in databases:
        folder = root / db
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob('*.json')):
            if path.name == INDEXES_FILE:
                indexes[db] = _indexes(path)
            else:
                documents.setdefault(db, {})[_ddoc_name(path)] = _document(path)
        clash = sorted({i['ddoc'] for i in indexes.get(db, [])} & set(documents.get(db, {})))
        if clash:
            raise ConfigError(f'{folder / INDEXES_FILE}: ddoc "{clash[0]}" is also a view design document')
    return Design(documents, indexes)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as e:
        raise ConfigError(f'{path}: not readable JSON ({type(e).__name__})') from None


def _ddoc_name(path: Path) -> str:
    if not _NAME.match(path.stem):
        raise ConfigError(f'{path}: a design document name is letters, digits, "_" and "-"')
    return path.stem


def _document(path: Path) -> dict[str, Any]:
    content = _read(path)
    if not isinstance(content, dict) or any(k.startswith('_') for k in content):
        raise ConfigError(f'{path}: must be a JSON object without "_id", "_rev" or other "_" fields')
    views = content.get('views', {})
    if not isinstance(views, dict):
        raise ConfigError(f'{path}: "views" must be an object')
    for name, view in views.items():
        if not _NAME.match(name):
            raise ConfigError(f'{path}: view name "{name}" is not letters, digits, "_" and "-"')
        if not (isinstance(view, dict) and isinstance(view.get('map'), str)):
            raise ConfigError(f'{path}: view "{name}" needs "map" (JavaScript source)')
        if set(view) - {'map', 'reduce'} or not isinstance(view.get('reduce', ''), str):
            raise ConfigError(f'{path}: view "{name}" has only "map" and "reduce" (strings)')
    return content


def _indexes(path: Path) -> list[dict[str, Any]]:
    found = _read(path)
    if not isinstance(found, list):
        raise ConfigError(f'{path}: must be a list of Mango index definitions')
    names = set()
    for index in found:
        fields = index.get('index', {}).get('fields') if isinstance(index, dict) else None
        if not isinstance(fields, list) or not fields:
            raise ConfigError(f'{path}: each index needs "index": {{"fields": [...]}}')
        for member in ('name', 'ddoc'):
            if not _NAME.match(str(index.get(member, ''))):
                raise ConfigError(f'{path}: each index needs "{member}" (letters, digits, "_", "-")')
        if set(index) - {'index', 'name', 'ddoc', 'type'} or index.get('type', 'json') != 'json':
            raise ConfigError(f'{path}: an index has "index", "name", "ddoc" and "type": "json" only')
        if index['name'] in names:
            raise ConfigError(f'{path}: index name "{index["name"]}" appears twice')
        names.add(index['name'])
    return found
