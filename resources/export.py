"""Every document of an allowed database, streamed as NDJSON."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from typing import ClassVar

from injector import inject

from api.config import Settings
from api.edge.id_prefix import id_prefix
from api.edge.request_input import single_param
from api.edge.wtf8 import query_value
from api.upstream.connections import UpstreamRecord, start_recording, stop_recording
from api.upstream.couch import Couch
from api.upstream.spool import Batch

NDJSON = 'application/x-ndjson'
log = logging.getLogger('couchgate.request')


class Export:
    """GET streams one JSON document per line, fetched upstream a batch at a time."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'export'}  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, couch: Couch, settings: Settings) -> None:
        self._couch = couch
        self._batch_size = settings.export_batch_size
        self._max_bytes = settings.max_page_bytes

    def on_get(self, req, resp, db):
        batches = self._couch.documents(
            db,
            batch_size=self._batch_size,
            max_bytes=self._max_bytes,
            start_key=query_value(req, 'start_key', single_param(req, 'start_key')),
            end_key=query_value(req, 'end_key', single_param(req, 'end_key')),
            id_prefix=id_prefix(req),
        )
        # The first batch is fetched now: a missing database is a 404 problem, not a 200 that stops.
        first = next(batches)
        resp.content_type = NDJSON
        resp.stream = ExportStream(
            first,
            batches,
            req.context.upstream_record,
            request_id=req.context.request_id,
            path=req.path,
            key_name=req.context.key_name,
            started=req.context.started,
        )


class ExportStream:
    """The response body: each batch, spooled, in chunks; closing it closes the upstream paging too.

    The request's log line is written before the body streams, so it counts the first batch
    only. The batches fetched while streaming are credited to the same request record, and
    a second line, `export`, gives the totals of the whole export when the stream closes.
    """

    def __init__(
        self,
        first: Batch,
        batches: Generator[Batch, None, None],
        record: UpstreamRecord,
        *,
        request_id: str,
        path: str,
        started: float,
        key_name: str | None = None,
    ) -> None:
        self._pending: Batch | None = first
        self._chunks: Iterator[bytes] = iter(())
        self._batches = batches
        self._record = record
        self._fields = {'request_id': request_id, 'path': path, 'key_name': key_name}
        self._started = started
        self._documents = 0
        self._bytes = 0
        self._complete = False
        self._closed = False

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> bytes:
        while True:  # an empty chunk could read as the end of the body: skip empty batches
            chunk = next(self._chunks, b'')
            if chunk:
                self._bytes += len(chunk)
                return chunk
            batch = self._pending if self._pending is not None else self._next_batch()
            self._pending = None
            self._documents += batch.documents
            self._chunks = batch.chunks()

    def _next_batch(self) -> Batch:
        _, token = start_recording(self._record)
        try:
            return next(self._batches)
        except StopIteration:
            self._complete = True
            raise
        except Exception as e:  # the status line went out long ago: the server will cut the body
            self._fields['error'] = getattr(e, 'description', None) or type(e).__name__
            raise
        finally:
            stop_recording(token)

    def close(self) -> None:
        """Called by the WSGI server at the end, also when the client went away half-way."""
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            self._pending.close()
        close_chunks = getattr(self._chunks, 'close', None)
        if close_chunks is not None:
            close_chunks()  # the spool of the batch being sent
        self._batches.close()
        level = logging.WARNING if 'error' in self._fields else logging.INFO
        log.log(
            level,
            'export',
            extra={
                'fields': dict(
                    self._fields,
                    complete=self._complete,
                    documents=self._documents,
                    bytes=self._bytes,
                    duration_ms=round((time.perf_counter() - self._started) * 1000, 1),
                    **self._record.log_fields(),
                )
            },
        )
