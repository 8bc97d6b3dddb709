"""Where a database's design documents are, as this worker last saw them: a hint that keeps a page
that crosses them to one upstream request.

Design documents are not listed, yet `_all_docs` counts them in its `limit`: a page that meets N of
them must ask for N more rows, or go back for the rest. Their ids sort in one block (`_design/`
up to `_design0`, in every order a server compares ids in: the block is ASCII), so a page meets
them only when its range crosses that block; each worker remembers how many it met there.
"""

from __future__ import annotations

import threading

LOW, HIGH = '_design/', '_design0'  # every design id is in [LOW, HIGH)


class DesignBlocks:
    """How many design documents each database holds, as last seen by a page that crossed them."""

    def __init__(self, known: dict[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict(known or {})  # at first: those design/ deploys

    def expected(self, db: str, start: str | None, end: str | None, *, descending: bool) -> int:
        """How many more rows to ask for than the page needs: the block's count, if the range crosses it."""
        low, high = (end, start) if descending else (start, end)
        crosses = (low is None or low < HIGH) and (high is None or high >= LOW)
        return self._counts.get(db, 0) if crosses else 0

    def met(self, db: str, count: int, *, whole: bool) -> None:
        """A page met `count` design documents; `whole`: it read the block from its first to its last."""
        with self._lock:
            known = self._counts.get(db, 0)
            # Met whole, the count is exact (some may be gone); in part, it is at least as many.
            self._counts[db] = count if whole else max(known, count)


def from_the_block_start(start: str | None, *, descending: bool) -> bool:
    """Whether a page from `start` meets the block at its first row in read order (if at all)."""
    if descending:
        return start is None or start >= HIGH
    return start is None or start <= LOW
