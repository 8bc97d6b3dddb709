"""The capacity windows in Redis: every window of one upstream call checked and spent in one round trip.

The layout is the `limits` library's moving window (a list of timestamps per window, newest first),
and the fall-back while Redis is away is limits' own (api/capacity/budget.py). Its Redis script
answers one window with a yes or no; admission needs a call's quota and capacity windows spent
together (a quota is not spent when the capacity refuses) and the counts the RateLimit headers
report, so one script does both: one Redis round trip per admitted call.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
from typing import Any

import redis
from limits import RateLimitItemPerSecond

from api.config import Settings

REDIS_TIMEOUT = 0.1  # seconds: a slow Redis must not slow every upstream call
WORKERS_KEY = 'workers'  # a sorted set: each worker's id, scored by when Redis last saw it
# A busy worker is seen many times a second; one idle this long is forgotten: long enough that a
# worker between bursts still counts (counting too many only lowers the split while Redis is away),
# short enough that the workers of a dyno restarted or scaled down stop counting within a minute.
WORKERS_SEEN_FOR = 60.0

# Cloudant's window is any 1,000 ms; ours is a little longer (CLOUDANT_CAPACITY_MARGIN), because a
# request admitted here reaches Cloudant a little later, and not always in the order it was admitted.
WINDOW = 1 + Settings.capacity_margin


class Window(RateLimitItemPerSecond):
    """`amount` units in any `seconds` seconds (a little more than Cloudant's one)."""

    __slots__ = ('seconds',)  # limits' items have slots

    def __init__(self, amount: int, seconds: float = WINDOW) -> None:
        self.seconds = seconds  # first: limits' constructor asks for the expiry
        super().__init__(amount)

    def get_expiry(self) -> int:
        return self.seconds  # type: ignore[return-value]  # limits' memory storage takes floats


# KEYS: one list per window, then the workers' sorted set. ARGV: the window in seconds, how long the
# caller may wait, this worker's id, how long a worker counts once seen, then each window's limit,
# cost and whether it is paced (0/1). Answers fits (0/1), units in use and milliseconds until there
# is room, per window, then how many workers (of every dyno) were seen lately: the split while Redis
# is away, learnt in the same round trip. The clock is Redis' own (TIME), so dynos whose clocks
# differ still count one window. Fits is 2 for a call held only by the pace (below).
#
# A paced window (the capacity's) also admits at most a fifth of its limit (rounded up) in any
# fifth of the window: a window that empties at once (a burst a second ago) refills at the rate
# the database may see it, not in one burst. A hundred calls admitted together reach the database
# spread over the time the workers take to send them, and the next burst, admitted on time, would
# overlap them there. Pacing only delays a call that may wait that long; it never refuses one.
_TAKE = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
local patience = tonumber(ARGV[2])
local slice = window / 5
local workers, seen_for = KEYS[#KEYS], tonumber(ARGV[4])
redis.call('zadd', workers, now, ARGV[3])
redis.call('zremrangebyscore', workers, '-inf', now - seen_for)
redis.call('pexpire', workers, math.ceil(seen_for * 1000))
local function newer(key, count, since)  -- entries newer than `since` among the first `count`
  local low, high, found = 0, count - 1, 0
  while low <= high do
    local mid = math.floor((low + high) / 2)
    local stamp = tonumber(redis.call('lindex', key, mid))
    if stamp and stamp > since then found = mid + 1; low = mid + 1 else high = mid - 1 end
  end
  return found
end
local function state(key, limit, cost, paced)  -- fits (0/1), units in use, when there is room
  local used = newer(key, limit, now - window)
  if used + cost > limit then
    return 0, used, tonumber(redis.call('lindex', key, limit - cost)) + window
  end
  if paced == 1 then
    local per_slice = math.ceil(limit / 5)
    local share = math.min(cost, per_slice)
    if newer(key, used, now - slice) + share > per_slice then
      local room = tonumber(redis.call('lindex', key, per_slice - share)) + slice
      if room - now <= patience then return 2, used, room end
    end
  end
  return 1, used, used > 0 and tonumber(redis.call('lindex', key, used - 1)) + window or now
end
local fits, answer = 1, {}
for i = 1, #KEYS - 1 do
  local key, at = KEYS[i], 3 * i + 2
  local fit, used, room = state(key, tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]))
  if fit ~= 1 then fits = 0 end
  answer[i] = {fit, used, room}
end
if fits == 1 then
  for i = 1, #KEYS - 1 do
    local key, limit, cost = KEYS[i], tonumber(ARGV[3 * i + 2]), tonumber(ARGV[3 * i + 3])
    for _ = 1, cost do redis.call('lpush', key, now) end
    redis.call('ltrim', key, 0, limit - 1)
    redis.call('pexpire', key, math.ceil(window * 1000))
    local used = answer[i][2] + cost
    answer[i] = {1, used, tonumber(redis.call('lindex', key, used - 1)) + window}
  end
end
local flat = {}
for i, a in ipairs(answer) do
  flat[3 * i - 2], flat[3 * i - 1], flat[3 * i] = a[1], a[2], math.max(0, math.ceil((a[3] - now) * 1000))
end
flat[#flat + 1] = redis.call('zcard', workers)
return flat
"""


@dataclasses.dataclass(frozen=True)
class Spend:
    """`cost` units of `item` (a limits item: its amount and key) for the window named by `ids`."""

    item: Window
    ids: tuple[str, ...]
    cost: int = 1
    paced: bool = False  # the capacity's windows are (see _TAKE); a key's quota is not


@dataclasses.dataclass(frozen=True)
class State:
    """One window after an attempt: whether the call fitted, units in use, seconds until room."""

    fits: bool
    used: int
    reset: float
    paced: bool = False  # held only by the pace: the window itself had room


class SharedWindows:
    """Windows in one Redis, for every worker of every dyno."""

    def __init__(self, url: str, prefix: str = 'couchgate') -> None:
        options: dict[str, Any] = {
            'socket_timeout': REDIS_TIMEOUT,
            'socket_connect_timeout': REDIS_TIMEOUT,
            # No retries: a failure falls back at once (api/capacity/budget.py).
            'retry': redis.retry.Retry(redis.backoff.NoBackoff(), 0),
            'health_check_interval': 0,
        }
        if url.startswith('rediss://') and 'ssl_cert_reqs' not in url:
            # Heroku Key-Value Store serves TLS with a self-signed chain: encrypted, not verified
            # (Heroku's documented setting); a REDIS_URL with ?ssl_cert_reqs=required verifies instead.
            options['ssl_cert_reqs'] = 'none'
        self._prefix = prefix
        self._redis = redis.Redis.from_url(url, **options)
        self._take = self._redis.register_script(_TAKE)
        self._worker: tuple[int, str] | None = None  # (pid, id): made in the worker, after the fork
        self._worker_lock = threading.Lock()
        # Workers of every dyno seen lately, as of this worker's last answer from Redis (0: none yet).
        self.workers_seen = 0

    def take(self, spends: list[Spend], window: float, patience: float = 0.0) -> list[State]:
        """Spend every window's cost if all fit, else none; one round trip (two if Redis lost the script).

        `patience`: how long the caller may wait for a paced window's next fifth.
        """
        keys = [f'{self._prefix}:{s.item.key_for(*s.ids)}' for s in spends]
        keys.append(f'{self._prefix}:{WORKERS_KEY}')
        args: list[float | str] = [window, patience, self._worker_id(), WORKERS_SEEN_FOR]
        for s in spends:
            args += [s.item.amount, s.cost, int(s.paced)]
        answer = self._take(keys, args)
        self.workers_seen = int(answer[-1])
        return [
            State(answer[i] == 1, int(answer[i + 1]), answer[i + 2] / 1000, paced=answer[i] == 2)
            for i in range(0, len(answer) - 1, 3)
        ]

    def _worker_id(self) -> str:
        # Made on first use and again in a child after fork() (--preload builds this in the master):
        # the pid tells processes of one dyno apart, the random part dynos (whose pids often agree).
        pid = os.getpid()
        worker = self._worker
        if worker is None or worker[0] != pid:
            with self._worker_lock:  # one id per worker, however many threads ask first
                if self._worker is None or self._worker[0] != pid:
                    self._worker = (pid, f'{pid}-{secrets.token_hex(6)}')
                worker = self._worker
        return worker[1]
