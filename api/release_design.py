"""The release phase's second step: deploy design/ (views and Mango indexes) to the allowed databases.

Only the design documents named by design/ files are read or written, and only the indexes that
indexes.json names are created; nothing is ever deleted. A design document is written only when
its content (without `_rev`) differs from its file, so a second release writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ibmcloudant import CloudantV1

from api.config.design import Design

Call = Callable[..., Any]  # api.release's _call: (request, doing, absent=None) -> result or None


def deploy_design(client: CloudantV1, call: Call, design: Design, db: str, say=print) -> tuple[int, int]:
    """Bring one database's design documents and indexes in line with design/; (changed, unchanged)."""
    changed = unchanged = 0
    for ddoc, content in design.documents.get(db, {}).items():
        doc_id = f'_design/{ddoc}'
        found = call(lambda ddoc=ddoc: client.get_design_document(db, ddoc), f'reading {db}/{doc_id}', 404)
        current = found.get_result() if found is not None else None
        stored = {k: v for k, v in (current or {}).items() if k not in ('_id', '_rev')}
        if current is not None and stored == content:
            unchanged += 1
            continue
        # The current rev goes with the update: a concurrent change is a 409, and the release fails.
        body = dict(content, _id=doc_id, **({'_rev': current['_rev']} if current else {}))
        call(
            lambda ddoc=ddoc, body=body: client.put_design_document(db, ddoc, design_document=body),
            f'writing {db}/{doc_id}',
        )
        changed += 1
        say(
            f'release: {db}/{doc_id} {"updated" if current else "created"} ({_what_changed(stored, content)})'
        )
    indexes = design.indexes.get(db, [])
    if indexes:
        found = call(lambda: client.get_indexes_information(db), f'reading the indexes of {db}').get_result()
        existing = {(i.get('ddoc'), i.get('name')): i.get('def', {}).get('fields') for i in found['indexes']}
        for index in indexes:
            key = (f'_design/{index["ddoc"]}', index['name'])
            fields = index['index']['fields']
            if key not in existing:
                call(
                    lambda index=index: client.post_index(
                        db, index=index['index'], ddoc=index['ddoc'], name=index['name'], type='json'
                    ),
                    f'creating the index {index["name"]} of {db}',
                )
                changed += 1
                where = f'{db}/_design/{index["ddoc"]} index {index["name"]}'
                say(f'release: {where} created (fields: {_names(fields)})')
            else:
                unchanged += 1
                if existing[key] != _ascending(fields):
                    # Never replaced: a query may rely on the old one, and deleting is not ours to do.
                    say(
                        f'release: {db}/_design/{index["ddoc"]} index {index["name"]} differs from design/ '
                        'and is left as it is (give a changed index a new name)'
                    )
    return changed, unchanged


def _what_changed(stored: dict, content: dict) -> str:
    old, new = stored.get('views', {}), content.get('views', {})
    views = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
    return f'views: {", ".join(views)}' if views else 'fields other than views'


def _names(fields: list) -> str:
    return ', '.join(f if isinstance(f, str) else next(iter(f), '?') for f in fields)


def _ascending(fields: list) -> list:
    # How the server lists an index's fields: each as {"name": "asc"|"desc"}.
    return [{f: 'asc'} if isinstance(f, str) else f for f in fields]


def summary(changed: int, unchanged: int) -> str:
    """The release's line about design/ as a whole."""
    if changed:
        return f'release: design: {changed} changed, {unchanged} unchanged'
    if unchanged:
        return f'release: design: nothing changed, {unchanged} unchanged (as in design/)'
    return 'release: design: nothing to deploy (design/ has nothing for CLOUDANT_DATABASES)'
