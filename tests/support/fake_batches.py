"""FakeCouch's batched operations: bulk writes, revisions and lookups by id, `_local/` records."""

from __future__ import annotations

from collections.abc import Iterator

from api.errors import Problem
from api.upstream.couch import BulkWritten, Ids, Json, Revision, Rows


class FakeBatches:
    """Mixed into FakeCouch: the same dicts, the same call log, the real port's semantics."""

    _ids: Iterator[int]

    def _db(self, name: str, call: str) -> dict:
        raise NotImplementedError  # FakeCouch's

    def bulk(self, db: str, docs: Rows) -> BulkWritten:
        stored = self._db(db, 'bulk')
        results: Rows = []
        for doc in docs:
            doc_id = doc.get('_id') or f'generated-{next(self._ids)}'
            current = stored.get(doc_id, {}).get('_rev')
            if current != doc.get('_rev'):
                results.append({'id': doc_id, 'error': 'conflict', 'reason': 'Document update conflict'})
                continue
            rev = f'{int(current.split("-")[0]) + 1 if current else 1}-fake'
            if doc.get('_deleted'):
                del stored[doc_id]
            else:
                stored[doc_id] = dict(doc, _id=doc_id, _rev=rev)
            results.append({'ok': True, 'id': doc_id, 'rev': rev})
        return BulkWritten(results, quorum=True)

    def revisions(self, db: str, ids: Ids) -> dict[str, Revision]:
        stored = self._db(db, 'revisions')
        return {i: Revision(stored[i]['_rev'], False) for i in ids if i in stored}

    def lookup(self, db: str, ids: Ids, max_bytes: int | None = None) -> Rows:
        stored = self._db(db, 'lookup')
        return [
            {'id': i, 'rev': stored[i]['_rev'], 'doc': stored[i]} if i in stored else {'id': i, 'status': 404}
            for i in ids
        ]

    def get_local(self, db: str, name: str) -> tuple[Json, str] | None:
        found = self._db(db, 'get_local').get('_local/' + name)
        return None if found is None else (found, found['_rev'])

    def put_local(self, db: str, name: str, body: Json, rev: str | None) -> str:
        stored = self._db(db, 'put_local')
        current = stored.get('_local/' + name, {}).get('_rev')
        if current != rev:
            raise Problem(409, 'conflict', 'The record changed meanwhile.')
        new_rev = f'0-{int(current.split("-")[1]) + 1 if current else 1}'
        stored['_local/' + name] = dict(body, _rev=new_rev)
        return new_rev
