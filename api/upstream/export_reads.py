"""The export's reads of the Couch port: every document of a key range, one upstream request per batch.

Batches end at a byte budget as pages do, and design documents are left out without shrinking them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from api.upstream import deadline
from api.upstream.cloudant_reads import CloudantReads
from api.upstream.design_block import from_the_block_start
from api.upstream.id_range import rows_within
from api.upstream.json_scan import members, text
from api.upstream.row_sizes import READ_ON
from api.upstream.rows import DESIGN, fields
from api.upstream.spool import Batch


class ExportReads(CloudantReads):
    """documents() of the Couch port (CloudantCouch inherits it)."""

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
        """Every document from start_key to end_key, in id order: one upstream request per batch."""
        if id_prefix is not None:
            keys = self._within(id_prefix, start_key, end_key, descending=False)
            if keys is None:
                yield Batch()  # the range holds no id of the prefix: an empty export, nothing asked
                return
            start_key, end_key = keys
        end_key = end_key if end_key is not None else self._highest_id()
        first, skip = True, 0
        met, passed, origin = 0, False, start_key  # design documents met by all batches, and a row after
        while True:
            # Each batch has the whole deadline; the first counts from the request's start.
            deadline.start(self._deadline_seconds, restart=not first)
            first = False
            batch, next_key, seen, designs, last, read, counted, cut = Batch(), None, 0, 0, b'', 0, 0, False
            # What fits the batch's bytes (api/upstream/row_sizes.py), and as many more rows as the
            # design documents in the range (api/upstream/design_block.py).
            fitting = self._sizes.fitting(db, max_bytes, batch_size)
            ask = fitting + 1 + self._designs.expected(db, start_key, end_key, descending=False)
            # The part of the range the server answers in one request (two parts: pouchdb on disk).
            (part_start, part_end), *following = self._servable(start_key, end_key, descending=False)
            try:
                request = self._all_docs_request(db, ask, part_start, part_end, skip)
                with self._items(request) as (items, scanner):
                    for raw in rows_within(items, id_prefix):
                        seen, last = seen + 1, raw
                        row = fields(raw)
                        doc = row.get('doc', b'null')
                        if row.get('id', b'').startswith(DESIGN):
                            designs += 1  # not exported, and not counted in the batch
                            continue
                        passed = passed or met + designs > 0
                        if doc == b'null':
                            continue
                        read, counted = read + len(doc), counted + 1
                        if next_key is not None:
                            # Asked for in case: read on (the connection goes back to the pool),
                            # unless far more came than fits.
                            cut = max_bytes is not None and read > READ_ON * max_bytes
                            if cut:
                                break
                        elif batch.documents == batch_size:
                            next_key = text(row['id'])  # the extra row
                        elif max_bytes is not None and batch.documents and batch.size + len(doc) > max_bytes:
                            next_key = text(row['id'])
                        else:
                            batch.add(doc)
                    scanner.rest(complete=not cut)
            except BaseException:
                batch.close()
                raise
            self._sizes.saw(db, read, counted)  # documents read, not rows without one
            if designs:
                met += designs
                self._designs.met(db, met, whole=passed and from_the_block_start(origin, descending=False))
            yield batch
            if next_key is not None:
                start_key, skip = next_key, 0
            elif seen == ask:
                start_key, skip = text(members(last)['id']), 1  # all it asked for, and not full: on
            elif following:
                start_key, skip = following[0][0], 0  # this part of the range is done: the next one
            else:
                return  # the range has no more rows

    def _all_docs_request(
        self, db: str, limit: int, start_key: str | None, end_key: str | None, skip: int = 0
    ) -> Callable:
        return lambda: self._client.post_all_docs_as_stream(
            db, include_docs=True, limit=limit, start_key=start_key, end_key=end_key, skip=skip or None
        )
