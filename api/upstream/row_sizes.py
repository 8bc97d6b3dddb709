"""How many rows with documents fit a page's byte budget: asked for, not read and thrown away.

A page or an export batch ends at API_MAX_PAGE_BYTES; asking the database for `limit` rows of big
documents makes it produce many times what the page can use (300 documents of 400 KB: 120 MB for
an 8 MB page). Each worker keeps the average size of a database's rows as its pages saw them and
asks for what fits; before it knows, for a few rows.
"""

from __future__ import annotations

import math
import threading

FIRST = 100  # rows asked for before anything is known of the documents: pages up to 100, in one request
# Rows past a full page are read on (the connection goes back to the pool) up to this many times the
# budget; beyond, the rest is left unread and the connection closed (a first ask of big documents).
READ_ON = 1.5
_MORE = 1.25  # asked above the estimate: rows smaller than the average still fill the page in one
_WEIGHT = 0.3  # of a new page's average in the estimate: documents change, slowly


class RowSizes:
    """The average size of each database's rows with their documents, as this worker saw them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._average: dict[str, float] = {}

    def fitting(self, db: str, budget: int | None, wanted: int, *, spare: bool = True) -> int:
        """How many of `wanted` rows to ask for within `budget` bytes (None: no budget, all).

        `spare`: a few more than the average says, read on and left out (a page of `_all_docs`);
        without, no more (a `_find`, whose bookmark only a query read to its end gives).
        """
        if budget is None:
            return wanted
        average = self._average.get(db)
        if average is None:
            return min(wanted, FIRST)
        fits = budget / average * _MORE if spare else budget / average
        return max(1, min(wanted, math.ceil(fits) if spare else math.floor(fits)))

    def saw(self, db: str, size: int, rows: int) -> None:
        """A page read `rows` rows of `size` bytes in all."""
        if rows:
            with self._lock:
                average = self._average.get(db)
                seen = size / rows
                self._average[db] = seen if average is None else average + _WEIGHT * (seen - average)
