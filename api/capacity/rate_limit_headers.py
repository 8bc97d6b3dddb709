"""RateLimit-Policy and RateLimit headers (IETF httpapi rate-limit headers draft) from what was applied."""

from __future__ import annotations

# The guard's window is one second (a little more, see api/capacity/budget.py): w=1.
WINDOW_SECONDS = 1


def rate_limit_headers(applied: dict[str, tuple[int, int, int]]) -> dict[str, str]:
    """`applied`: policy name -> (quota per window, remaining, seconds until it resets)."""
    if not applied:
        return {}
    items = applied.items()
    return {
        'RateLimit-Policy': ', '.join(f'"{name}";q={q};w={WINDOW_SECONDS}' for name, (q, _, _) in items),
        'RateLimit': ', '.join(f'"{name}";r={r};t={t}' for name, (_, r, t) in items),
    }
