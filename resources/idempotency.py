"""Idempotency-Key (IETF httpapi draft) on the POSTs that write: the first answer, kept in the database.

A key's record is a `_local/` document of the database written to (api/upstream/cloudant_batches.py):
shared by every worker of every dyno with no Redis required, kept as long as the database (so well
beyond the 24 h promised), never listed nor replicated, and created atomically: of 16 racing
requests one creates it, the others get 409 and wait for its answer. Its name and any id derived
from it hash the API key's name with the Idempotency-Key, so two keys never share a record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable

import falcon
from injector import inject

from api.config import Settings
from api.edge.idempotency_key import idempotency_key
from api.errors import Problem
from api.upstream.couch import Couch, Json

log = logging.getLogger('couchgate.idempotency')
_RECORD = 'couchgate-idempotency-'
_REPLAYED = ('Location', 'ETag')
Write = Callable[[str | None], None]  # the write, given the key's scope (None without a key)
Recall = Callable[[str], bool]  # fills the response with the first answer, told by the database


@dataclasses.dataclass(frozen=True)
class Recalled:
    """The first answer is in the response, told by the database; `rev`: the pending record's."""

    rev: str
    keep: bool  # whether to store it: its first request has ended, and will not store it itself


class Idempotency:
    """Runs a write once per (API key name, Idempotency-Key); repeats get the first answer again."""

    @inject
    def __init__(self, couch: Couch, settings: Settings) -> None:
        self._couch = couch
        # A repeat waits for a first request still running at most half the request's deadline ...
        self._wait = settings.request_deadline / 2
        self._longest = settings.request_deadline  # no request runs longer
        # ... and a record pending longer than any request lasts lost its writer (a crash): claimable.
        self._stale_after = 2 * settings.request_deadline

    def once(self, req: falcon.Request, resp: falcon.Response, db: str, write: Write, recall: Recall) -> None:
        """write(scope) for a new key (scope None without one), or the first answer to this key again.

        recall(scope) tells the first answer from the database, where its record was never stored.
        """
        key = idempotency_key(req)
        if key is None:
            write(None)
            return
        scope = hashlib.sha256(f'{req.context.owner or ""}\0{key}'.encode()).hexdigest()
        name, fingerprint = _RECORD + scope, _fingerprint(req)
        claimed = self._claim(db, name, fingerprint, lambda: recall(scope))
        if isinstance(claimed, Recalled):
            if claimed.keep:
                self._done(db, name, fingerprint, resp, claimed.rev)  # kept now, for the next repeat
            return
        if isinstance(claimed, dict):
            _replay(resp, claimed)
            return
        try:
            write(scope)
        except BaseException:
            self._release(db, name, fingerprint, claimed)  # failed: a resend with this key runs again
            raise
        status = falcon.http_status_to_code(resp.status)
        if status >= 500 or status == 429:
            self._release(db, name, fingerprint, claimed)
            return
        self._done(db, name, fingerprint, resp, claimed)

    def _done(self, db: str, name: str, fingerprint: str, resp: falcon.Response, rev: str) -> None:
        status = falcon.http_status_to_code(resp.status)
        answer = {'status': status, 'body': resp.media, 'headers': {h: resp.get_header(h) for h in _REPLAYED}}
        try:
            self._put(db, name, _record(fingerprint, 'done', answer=answer), rev)
        except Problem as e:
            if e.status_code != 409:  # 409: the first of two sends, or another repeat, stored it
                # The client still gets its answer; the record stays pending, and a repeat tells the
                # first answer from the database (recall) instead of running the write again.
                log.warning('idempotency record not stored: %s %s', e.status_code, e.problem_type)

    def _claim(
        self, db: str, name: str, fingerprint: str, recall: Callable[[], bool]
    ) -> str | Json | Recalled:
        """The record's rev once this request owns it, the first answer to replay, or Recalled."""
        give_up, pause = time.monotonic() + self._wait, 0.02
        attempt: str | None = None  # create the record; a rev: take over an open or stale one
        write = True
        # Whose claim a record is: a claim cut off and sent again conflicts with itself, and then the
        # record it finds names this request.
        owner = uuid.uuid4().hex
        recalled = False  # asked once on finding another's pending record, and once before giving up
        while True:
            if write:
                try:
                    return self._put(db, name, _record(fingerprint, 'pending', owner=owner), attempt)
                except Problem as refused:
                    if refused.status_code != 409:
                        raise
            found = self._couch.get_local(db, name)
            if found is None:
                attempt, write = None, True
                continue
            record, rev = found
            if record.get('owner') == owner and record.get('state') == 'pending':
                return rev  # this request's own claim, whose answer was cut off
            if record.get('state') == 'open':
                attempt, write = rev, True  # released after a failure: any request may run; first wins
                continue
            if record.get('fingerprint') != fingerprint:
                raise Problem(
                    422,
                    'idempotency-key-reused',
                    'This Idempotency-Key came with another request (body or route): use a new key.',
                )
            if record.get('state') == 'done':
                return record['answer']
            # Pending, another's: its write may be done and its record lost (the database went away
            # in between). The database then tells the first answer; a write not seen yet: wait.
            ended = time.time() - record.get('since', 0) > self._longest
            if not recalled and recall():
                return Recalled(rev, keep=ended)
            recalled = True
            if time.time() - record.get('since', 0) > self._stale_after:
                attempt, write = rev, True  # its writer is gone; one of the racers takes it over
                continue
            if time.monotonic() > give_up:
                if recall():
                    return Recalled(rev, keep=False)
                raise Problem(
                    409,
                    'idempotency-key-in-use',
                    'A request with this Idempotency-Key is still being processed: retry later.',
                    headers={'Retry-After': '1'},
                )
            time.sleep(pause)  # the first request's answer is being written: poll for it
            pause, write = min(pause * 2, 0.25), False

    def _put(self, db: str, name: str, record: Json, rev: str | None) -> str:
        """put_local, sent once more if cut off: the repeat of an applied one conflicts, never doubles."""
        try:
            return self._couch.put_local(db, name, record, rev)
        except Problem as failed:
            if failed.status_code not in (502, 503, 504):
                raise
        return self._couch.put_local(db, name, record, rev)

    def _release(self, db: str, name: str, fingerprint: str, rev: str) -> None:
        # Nothing to replay (refused, failed): the key may be used again, with any body. If the
        # upstream fails this too, the record goes stale, then claimable, all the same.
        with contextlib.suppress(Problem):
            self._couch.put_local(db, name, _record(None, 'open'), rev)


def _record(fingerprint: str | None, state: str, **more: object) -> Json:
    return {'fingerprint': fingerprint, 'state': state, 'since': time.time(), **more}


def _fingerprint(req: falcon.Request) -> str:
    # The route and the parsed body, canonical: spacing and member order do not make another request.
    canonical = json.dumps([req.path, req.get_media()], sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(resp: falcon.Response, answer: Json) -> None:
    resp.status = answer['status']
    for name, value in answer.get('headers', {}).items():
        if value is not None:
            resp.set_header(name, value)
    resp.media = answer['body']
