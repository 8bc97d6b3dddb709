"""The fault proxy, with an outage that starts right after a write: the database goes away just then."""

from __future__ import annotations

from tests.support.fault_proxy import FaultProxy, _abort_with_reset

WRITES = frozenset({'POST', 'PUT', 'DELETE'})


class OutageProxy(FaultProxy):
    """Once the first write of documents (a POST, PUT or DELETE outside `_local/`) after
    go_away_after_write() has been answered, every request is cut off (RST) unforwarded until heal():
    the server never sees them, as when the database became unreachable. `_local/` records come
    after the write, so none of the request's own bookkeeping is stored from then on."""

    def heal(self) -> None:
        super().heal()
        with self._lock:
            self._armed = False
            self.down = False
            self.writes_before: list[str] = []  # the write(s) that reached the server: 'METHOD path'
            self.cut_off: list[str] = []  # the requests that never reached it

    def go_away_after_write(self) -> None:
        with self._lock:
            self._armed = True

    def _outage(self, request) -> tuple[bool, bool]:
        """(cut this request off, the outage starts once it is answered)."""
        with self._lock:
            if self.down:
                self.cut_off.append(f'{request.method} {request.target}')
                return True, False
            last = self._armed and request.method in WRITES and '/_local/' not in request.target
            if last:
                self.writes_before.append(f'{request.method} {request.target}')
            return False, last

    async def _exchange(self, client, request) -> bool:
        cut, last = self._outage(request)
        if cut:
            self._answered(request, None)
            _abort_with_reset(client.writer)
            return False
        try:
            return await super()._exchange(client, request)
        finally:
            if last:  # its answer relayed (or failed): from now on the database is gone
                with self._lock:
                    self.down = True
