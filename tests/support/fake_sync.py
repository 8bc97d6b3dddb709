"""FakeCouch's replication calls: one revision per document, as the fake keeps them."""

from __future__ import annotations

from typing import Any

from api.errors import Problem
from api.upstream.couch import Ids, Json, Rows


class FakeSync:
    """database_info, revs_diff, bulk_get, open_revs, attachment, replicate and delete_local."""

    def _db(self, name: str, call: str) -> dict:
        raise NotImplementedError

    def database_info(self, db: str) -> Json:
        docs = self._db(db, 'database_info')
        return {'db_name': db, 'update_seq': len(docs), 'doc_count': len(docs), 'instance_start_time': '0'}

    def revs_diff(self, db: str, revs: dict[str, Ids]) -> Json:
        docs = self._db(db, 'revs_diff')
        diff: Json = {}
        for doc_id, asked in revs.items():
            missing = [r for r in asked if docs.get(doc_id, {}).get('_rev') != r]
            if missing:
                diff[doc_id] = {'missing': missing}
        return diff

    def bulk_get(self, db: str, docs: Rows, *, params: dict[str, str], max_bytes: int) -> Rows:
        stored = self._db(db, 'bulk_get')
        results = []
        for asked in docs:
            doc = stored.get(asked['id'])
            if doc is None or asked.get('rev', doc['_rev']) != doc['_rev']:
                error = {
                    'id': asked['id'],
                    'rev': asked.get('rev'),
                    'error': 'not_found',
                    'reason': 'missing',
                }
                results.append({'id': asked['id'], 'docs': [{'error': error}]})
            else:
                results.append({'id': asked['id'], 'docs': [{'ok': dict(doc)}]})
        return results

    def open_revs(self, db: str, doc_id: str, params: dict[str, str], max_bytes: int) -> Any:
        doc = self._db(db, 'open_revs').get(doc_id)
        if doc is None:
            raise Problem(404, 'not-found', 'No document with this id.')
        return [{'ok': dict(doc)}] if 'open_revs' in params else dict(doc)

    def attachment(
        self, db: str, doc_id: str, name: str, rev: str | None, max_bytes: int
    ) -> tuple[str, bytes]:
        self._db(db, 'attachment')
        raise Problem(404, 'not-found', 'No document with this id.')

    def replicate(self, db: str, docs: Rows) -> Rows:
        stored = self._db(db, 'replicate')
        for doc in docs:
            stored[doc['_id']] = dict(doc)
        return []

    def delete_local(self, db: str, name: str, rev: str | None) -> None:
        stored = self._db(db, 'delete_local')
        if stored.get('_local/' + name, {}).get('_rev') != rev:
            raise Problem(409, 'conflict', 'The record changed meanwhile.')
        del stored['_local/' + name]
