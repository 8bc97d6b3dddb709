"""One export batch as NDJSON lines, spooled to disk past a small buffer: memory stays flat."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator

IN_MEMORY = 256 * 1024  # beyond this a batch waits on disk, not in the worker's memory
CHUNK = 64 * 1024


class Batch:
    """NDJSON lines of one export batch, read back in chunks of bounded size."""

    def __init__(self) -> None:
        # Owned by the batch: chunks() or close() closes it.
        self._file = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self.documents = 0
        self.size = 0

    @classmethod
    def of(cls, documents: Iterable[bytes]) -> Batch:
        batch = cls()
        for raw in documents:
            batch.add(raw)
        return batch

    def add(self, raw: bytes) -> None:
        """One stored document, as the database sent it, on one line."""
        if b'\n' in raw or b'\r' in raw:  # whitespace between tokens: JSON strings hold no raw newline
            raw = raw.replace(b'\n', b' ').replace(b'\r', b' ')
        self._file.write(raw)
        self._file.write(b'\n')
        self.documents += 1
        self.size += len(raw) + 1

    def chunks(self) -> Iterator[bytes]:
        """The lines, a chunk at a time; the spool is gone once they are read."""
        try:
            self._file.seek(0)
            while data := self._file.read(CHUNK):
                yield data
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()
