"""A py-spy sample's layer: which part of the stack spends the CPU (the README's per-layer table).

A sample goes to the first layer below that any frame of its stack belongs to: libraries are
listed before their callers, so urllib3 called through requests and the SDK counts as urllib3,
and the standard library counts for whoever called it (stdlib json: JSON; ssl, http.client:
urllib3; logging: the log lines). Middleware is told apart by its module in api/edge/.
"""

from __future__ import annotations

import collections
import re

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # logging: couchgate's request line and gunicorn's access line (stdlib json inside counts here)
    (
        'log lines (logging, JSON formatter)',
        ('(logging/', 'api/observability/logs.py', 'access_log.py', 'glogging.py'),
    ),
    ('metrics (prometheus_client)', ('prometheus_client/', 'api/observability/metrics.py')),
    (
        'JSON (encode, decode, row slicing)',
        (
            '(json/',
            'orjson',
            'json_scan.py',
            'api/upstream/rows.py',
            'falcon/media/json.py',
            'strict_json.py',
            '_dumps (api/app.py',
        ),
    ),
    ('gzip (zlib)', ('gzip.py', 'zlib', 'compression.py')),
    ('urllib3 (http.client, ssl, sockets)', ('urllib3/',)),
    ('requests', ('requests/',)),
    ('SDK (ibm_cloud_sdk_core, ibmcloudant)', ('ibm_cloud_sdk_core/', 'ibmcloudant/')),
    ('couchgate upstream (api/upstream)', ('api/upstream/',)),
    ('resources', ('(resources/',)),
)
_EDGE = re.compile(r'\(api/edge/(\w+)\.py')
_FALCON = ('falcon/',)
_GUNICORN = ('gunicorn/', 'api/gunicorn_')


def layer(frames: list[str]) -> str:
    for name, patterns in LAYERS:
        if any(p in frame for frame in frames for p in patterns):
            return name
    edge = [m.group(1) for frame in frames if (m := _EDGE.search(frame))]
    if edge:
        return f'middleware: {edge[-1]}'
    if any(p in frame for frame in frames for p in _FALCON):
        return 'Falcon (routing, request, response)'
    if any(p in frame for frame in frames for p in _GUNICORN):
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
