"""A py-spy sample's layer: which part of the stack spends the CPU (bench/results/history.md, per layer).

Logging and metrics count wherever they appear in a stack (they call nothing else of ours).
Otherwise the innermost frame that belongs to a layer decides: urllib3 called through requests
and the SDK counts as urllib3, the standard library counts for its caller (ssl, http.client:
urllib3), and Falcon's helpers for the middleware or resource that called them. Falcon and
gunicorn get what is left: their own loops, parsing and dispatch.
"""

from __future__ import annotations

import collections
import re

ANYWHERE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        'log lines (logging, JSON formatter)',
        ('(logging/', 'observability/logs.py', 'access_log.py', 'glogging.py'),
    ),
    ('metrics (prometheus_client)', ('prometheus_client/', 'observability/metrics.py')),
)
INNERMOST: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        'JSON (encode, decode, row slicing)',
        ('(json/', 'orjson', 'json_scan.py', 'rows.py', 'media/json.py', '(api/app.py'),
    ),
    ('gzip, ETag digest', ('gzip.py', 'compression.py', 'conditional.py')),
    ('urllib3 (http.client, ssl, sockets)', ('urllib3/',)),
    ('requests', ('requests/',)),
    ('SDK (ibm_cloud_sdk_core, ibmcloudant)', ('ibm_cloud_sdk_core/', 'ibmcloudant/')),
    ('couchgate upstream (api/upstream)', ('api/upstream/',)),
    ('resources', ('(resources/',)),
)
_EDGE = re.compile(r'\(api/edge/(\w+)\.py')


def layer(frames: list[str]) -> str:
    for name, patterns in ANYWHERE:
        if any(p in frame for frame in frames for p in patterns):
            return name
    for frame in reversed(frames):
        for name, patterns in INNERMOST:
            if any(p in frame for p in patterns):
                return name
        if edge := _EDGE.search(frame):
            return f'middleware: {edge.group(1)}'
    if any('falcon/' in frame for frame in frames):
        return 'Falcon (routing, request, response)'
    if any('gunicorn' in frame for frame in frames):
        return 'gunicorn (HTTP parsing, worker loop)'
    return 'other (threads, imports)'


def by_layer(stacks: list[tuple[list[str], int]]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        counts[layer(frames)] += count
    return counts


def table(stacks: list[tuple[list[str], int]], ms_per_sample: float) -> list[str]:
    """Markdown rows: layer, share of samples, Python CPU ms per request."""
    counts = by_layer(stacks)
    total = sum(counts.values()) or 1
    lines = ['| layer | % of samples | ms per request |', '|---|---:|---:|']
    for name, count in counts.most_common():
        lines.append(f'| {name} | {100 * count / total:.1f} | {count * ms_per_sample:.3f} |')
    lines.append(f'| **all** | 100 | {total * ms_per_sample:.3f} |')
    return lines
