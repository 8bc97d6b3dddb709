"""The benchmark's stand-in for Cloudant, one process per part so they do not share a GIL.

    python -m bench.upstream front --upstream-port P --cert-chain PEM   # TLS, counts connections
    python -m bench.upstream proxy --target-port P --rtt-ms 20          # adds the round-trip time

Each prints {"port": N} once it listens. The front then answers commands on stdin, one per
line, with one JSON line: `stats` (connections accepted, requests), `reset`, `close` (drop
every client connection, so the next target starts cold).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys

from bench.latency_proxy import LatencyProxy
from tests.support.tls_front import TLSFront


def serve_front(upstream_port: int, cert_chain: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_chain)
    with TLSFront(('127.0.0.1', upstream_port), context) as front:
        print(json.dumps({'port': front.port}), flush=True)
        for line in sys.stdin:  # ends when the benchmark closes our stdin
            command = line.strip()
            if command == 'reset':
                front.reset()
            elif command == 'close':
                front.close_all_connections(timeout=30)
            answer = {'accepted': front.accepted_connections, 'requests': front.request_count}
            print(json.dumps(answer), flush=True)


async def serve_proxy(target_port: int, rtt: float) -> None:
    proxy = LatencyProxy(('127.0.0.1', target_port), rtt)
    await proxy.start()
    print(json.dumps({'port': proxy.port}), flush=True)
    await asyncio.Event().wait()  # until the benchmark terminates us


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m bench.upstream')
    parts = parser.add_subparsers(dest='part', required=True)
    front = parts.add_parser('front')
    front.add_argument('--upstream-port', type=int, required=True)
    front.add_argument('--cert-chain', required=True)
    proxy = parts.add_parser('proxy')
    proxy.add_argument('--target-port', type=int, required=True)
    proxy.add_argument('--rtt-ms', type=float, required=True)
    args = parser.parse_args(argv)
    if args.part == 'front':
        serve_front(args.upstream_port, args.cert_chain)
    else:
        asyncio.run(serve_proxy(args.target_port, args.rtt_ms / 1000))


if __name__ == '__main__':
    main()
