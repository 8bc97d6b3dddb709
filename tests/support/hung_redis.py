"""A real Redis that can also hang: SIGSTOP, as a Redis that accepts connections and never answers."""

from __future__ import annotations

import os
import signal

from tests.support.redis_server import RedisServer


class HangingRedisServer(RedisServer):
    """RedisServer plus hang(); stop() (SIGKILL) still ends a hung one."""

    def hang(self) -> None:
        assert self._proc is not None, 'redis-server is not running'
        os.kill(self._proc.pid, signal.SIGSTOP)
