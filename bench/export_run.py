"""The export benchmark: couchgate streams every document of the data set to a client that counts
them; the worker's peak RSS growth and the documents per second are the figures."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from bench.chain import DB, UpstreamChain
from bench.processes import proc_status_kb, reset_peak_rss
from bench.targets import running
from bench.workloads import BENCH_KEY

# The export needs a key with the `export` scope (API keys' scopes); the bench's key has every scope.
KEY = {'Authorization': f'Bearer {BENCH_KEY}'}

READ = 1024 * 1024
MAX_SECONDS = 600  # a bound, far above what 100k documents take


def measure_export(chain: UpstreamChain, work: Path, *, threads: int) -> dict:
    """One worker (so its RSS is the one that matters); the export runs alone."""
    with running('couchgate', chain, work, workers=1, threads=threads) as target:
        assert target.service is not None
        [worker] = target.service.children()
        base = target.base
        # Warm up: a short export and a listing, so imports and first buffers are counted as baseline.
        warm_up = requests.get(
            f'{base}/v1/{DB}/export', params={'end_key': 'doc-001000'}, headers=KEY, timeout=60
        )
        warm_up.raise_for_status()
        rss_before = proc_status_kb(worker, 'VmRSS')
        exact_peak = reset_peak_rss(worker)
        started = time.perf_counter()
        documents = received = 0
        with requests.get(f'{base}/v1/{DB}/export', headers=KEY, stream=True, timeout=(5, 60)) as response:
            response.raise_for_status()
            for chunk in response.iter_content(READ):
                documents += chunk.count(b'\n')
                received += len(chunk)
                if time.perf_counter() - started > MAX_SECONDS:
                    raise RuntimeError(f'export still running after {MAX_SECONDS} s')
        seconds = time.perf_counter() - started
        peak = proc_status_kb(worker, 'VmHWM')
    if documents != chain.docs:
        raise RuntimeError(f'exported {documents} of {chain.docs} documents')
    return {
        'documents': documents,
        'megabytes': round(received / 1e6, 1),
        'seconds': round(seconds, 2),
        'docs_per_s': round(documents / seconds),
        'rss_before_mb': round(rss_before / 1024, 1),
        'peak_rss_mb': round(peak / 1024, 1),
        # VmHWM is the kernel's own peak: exact when it could be reset before the export,
        # otherwise an upper bound (the peak may be older than the export).
        'peak_rss_growth_mb': round((peak - rss_before) / 1024, 1),
        'peak_exact': exact_peak,
    }
