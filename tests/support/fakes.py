"""Hand-written fakes for unit tests: an in-memory Couch port with the real port's semantics,
and the real app built around one."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Generator

import falcon
from injector import Binder, InstanceProvider, Module

from api.app import create_app
from api.config import Settings
from api.errors import Problem
from api.upstream.couch import (
    Change,
    Changes,
    Couch,
    Doc,
    Json,
    Page,
    Replication,
    Rows,
    ViewPage,
    ViewQuery,
    stale_rev,
)
from api.upstream.spool import Batch
from container import build_injector
from tests.support.fake_batches import FakeBatches
from tests.support.fake_sync import FakeSync


class FakeCouch(FakeSync, FakeBatches):
    """Keeps documents in dicts; records each call; raises the problems the real port raises."""

    def __init__(self, *databases: str) -> None:
        self.dbs: dict[str, dict[str, dict]] = {db: {} for db in databases}
        self.calls: list[tuple[str, str]] = []
        self.view_queries: list[ViewQuery] = []
        self.unavailable = False
        self._ids = itertools.count(1)

    def _db(self, name: str, call: str) -> dict:
        self.calls.append((call, name))
        if self.unavailable:
            raise Problem(
                503, 'upstream-unavailable', 'The database cannot be reached.', headers={'Retry-After': '1'}
            )
        if name not in self.dbs:
            raise Problem(404, 'not-found', 'not_found: Database does not exist.')
        return self.dbs[name]

    def ping(self) -> None:
        self._db(next(iter(self.dbs)), 'ping')

    def list(
        self,
        db: str,
        *,
        limit: int,
        start_key: str | None = None,
        end_key: str | None = None,
        include_docs: bool = False,
        descending: bool = False,
        max_bytes: int | None = None,
        id_prefix: str | None = None,
    ) -> Page:
        docs = self._db(db, 'list')
        ids = sorted((i for i in docs if i.startswith(id_prefix or '')), reverse=descending)
        if start_key is not None:
            ids = [i for i in ids if (i <= start_key if descending else i >= start_key)]
        if end_key is not None:
            ids = [i for i in ids if (i >= end_key if descending else i <= end_key)]
        rows: Rows = []
        size = 0
        for i in ids[:limit]:
            size += len(_stored(docs[i]))
            if rows and max_bytes is not None and size > max_bytes:  # like the real port: a byte budget
                return Page(rows, len(docs), i)
            rows.append(dict({'id': i, 'rev': docs[i]['_rev']}, **({'doc': docs[i]} if include_docs else {})))
        return Page(rows, len(docs), ids[limit] if len(ids) > limit else None)

    def documents(
        self,
        db: str,
        *,
        batch_size: int,
        max_bytes: int | None = None,
        start_key: str | None = None,
        end_key: str | None = None,
        id_prefix: str | None = None,
    ) -> Generator[Batch, None, None]:
        """Like the real port: a generator of batches; `closed` tells whether it was closed."""
        self.closed = False
        ids = [
            i
            for i in sorted(self._db(db, 'documents'))
            if i.startswith(id_prefix or '')
            and (start_key is None or i >= start_key)
            and (end_key is None or i <= end_key)
        ]
        try:
            for at in range(0, max(len(ids), 1), batch_size):
                if at:
                    self._db(db, 'documents')  # one upstream call per batch, the failure switch included
                yield Batch.of(_stored(self.dbs[db][i]) for i in ids[at : at + batch_size])
        finally:
            self.closed = True

    def get(self, db: str, doc_id: str) -> Doc:
        docs = self._db(db, 'get')
        if doc_id not in docs:
            raise Problem(404, 'not-found', 'not_found: missing')
        return Doc(doc_id, docs[doc_id]['_rev'], _stored(docs[doc_id]))

    def put(self, db: str, doc_id: str, body: Json, rev: str | None) -> str:
        docs = self._db(db, 'put')
        current = docs.get(doc_id, {}).get('_rev')
        if current != rev:
            raise stale_rev(rev)
        new_rev = f'{int(current.split("-")[0]) + 1 if current else 1}-fake'
        docs[doc_id] = dict(body, _id=doc_id, _rev=new_rev)
        return new_rev

    def create(self, db: str, body: Json) -> tuple[str, str]:
        docs = self._db(db, 'create')
        doc_id = body.get('_id') or f'generated-{next(self._ids)}'
        if doc_id in docs:
            raise Problem(409, 'conflict', 'A document with this id exists already.')
        docs[doc_id] = dict(body, _id=doc_id, _rev='1-fake')
        return doc_id, '1-fake'

    def delete(self, db: str, doc_id: str, rev: str) -> None:
        docs = self._db(db, 'delete')
        if doc_id not in docs:
            raise Problem(404, 'not-found', 'not_found: missing')
        if docs[doc_id]['_rev'] != rev:
            raise stale_rev(rev)
        del docs[doc_id]

    def find(self, db: str, query: Json, id_prefix: str | None = None, max_bytes: int | None = None) -> Json:
        docs = {i: d for i, d in self._db(db, 'find').items() if i.startswith(id_prefix or '')}
        selector = query['selector']
        if any(key.startswith('$') for key in selector if key not in ('$and', '$or')):
            raise Problem(400, 'bad-request', 'The database refused the request as invalid.')
        hits = [d for d in docs.values() if all(d.get(k) == v for k, v in selector.items())]
        return {'docs': hits[: query['limit']], 'bookmark': 'nil'}

    def view(self, db: str, ddoc: str, view: str, query: ViewQuery, max_bytes: int | None = None) -> ViewPage:
        """No rows, ever: unit tests look at the query the resource built (`view_queries`)."""
        self._db(db, 'view')
        self.view_queries.append(query)
        return ViewPage([], None, None, False)

    def changes(
        self,
        db: str,
        *,
        since: str,
        limit: int,
        include_docs: bool = False,
        id_prefix: str | None = None,
        wait: float = 0.0,
        max_bytes: int | None = None,
        replication: Replication | None = None,
    ) -> Changes:
        """Each document once, in the order it was first written (its seq); a wait is a short pause."""
        asked = replication or Replication()
        docs = list(self._db(db, 'changes').items())
        if wait and since != 'now' and int(since.partition('-')[0]) >= len(docs):
            threading.Event().wait(min(wait, 0.05))  # a feed's long poll: not a busy loop
        start = len(docs) if since == 'now' else int(since.partition('-')[0])
        found = [
            Change(
                str(seq),
                i,
                d['_rev'],
                d.get('_deleted', False),
                _stored(d) if include_docs else None,
                (d['_rev'],) if asked.all_leaves else (),
            )
            for seq, (i, d) in enumerate(docs, start=1)
            if seq > start
            and i.startswith(id_prefix or '')
            and not i.startswith(('_design/', '_local/'))
            and (asked.doc_ids is None or i in asked.doc_ids)
        ]
        page = found[:limit]
        last = page[-1].seq if len(found) > limit else str(max(start, len(docs)))
        return Changes(page, last, len(found) > limit)


def _stored(doc: dict) -> bytes:
    """A document as a database sends it (stdlib json: integers beyond 64 bits too)."""
    return json.dumps(doc, ensure_ascii=False, separators=(',', ':')).encode()


class ExplodingCouch(FakeCouch):
    """A port whose reads fail with an unexpected error, to see the 500 path."""

    def get(self, db: str, doc_id: str) -> Doc:
        raise RuntimeError('secret-internal-detail')


def _satisfies_the_port(fake: FakeCouch) -> Couch:
    return fake  # mypy checks here that FakeCouch has every method of the Couch Protocol, typed alike


class FakeCouchModule(Module):
    """Binds the Couch port to a fake: the one override a unit test makes to the Production module."""

    def __init__(self, couch: Couch) -> None:
        self._couch = couch

    def configure(self, binder: Binder) -> None:
        binder.bind(Couch, to=InstanceProvider(self._couch))


def fake_app(couch: Couch, **env: str) -> falcon.App:
    """The real app over `couch`, configured by `env` alone (nothing of the process's environment)."""
    return create_app(build_injector(Settings.from_env(env), FakeCouchModule(couch)))
