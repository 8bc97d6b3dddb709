"""Open-loop load: requests offered at a fixed rate whatever the answers, as independent clients do."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests


@dataclasses.dataclass(frozen=True)
class Answer:
    """One request's answer: status (0: no HTTP answer), problem type, Retry-After, RateLimit."""

    status: int
    problem_type: str | None
    retry_after: str | None
    rate_limit: str | None
    rate_limit_policy: str | None
    seconds: float = 0.0  # from sending to the whole answer


def offer(
    request: Callable[[requests.Session], requests.Response], rate: float, seconds: float, clients: int = 64
) -> list[Answer]:
    """Send request() `rate` times a second for `seconds`, from up to `clients` threads at once."""
    local = threading.local()

    def one() -> Answer:
        session = getattr(local, 'session', None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        try:
            response = request(session)
        except requests.RequestException:
            return Answer(0, None, None, None, None, time.perf_counter() - started)
        problem = None
        if response.headers.get('Content-Type', '').startswith('application/problem+json'):
            problem = response.json().get('type', '').rsplit('/', 1)[-1]
        return Answer(
            response.status_code,
            problem,
            response.headers.get('Retry-After'),
            response.headers.get('RateLimit'),
            response.headers.get('RateLimit-Policy'),
            time.perf_counter() - started,
        )

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        futures = []
        for n in range(int(rate * seconds)):
            # The schedule, not the answers, decides when the next request goes: an open loop.
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one))
        return [f.result() for f in futures]
