"""Refuse to start on a port something else holds: `python -m api.cli.ports NAME=HOST:PORT ...`.

`make run` calls it before it starts anything, so a busy port is one line naming it, instead of
a local server that dies while the demo seeder talks to whatever answers there (a 401, a 501).
"""

from __future__ import annotations

import errno
import socket
import sys


def busy(host: str, port: int) -> bool:
    """Whether binding host:port would fail, or something already answers there."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As servers bind: SO_REUSEADDR lets TIME_WAIT leftovers of a previous run pass.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    # Some systems let a specific address bind beside a wildcard listener: ask it too.
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def parse(spec: str) -> tuple[str, str, int]:
    """NAME=HOST:PORT (HOST may be [v6]) -> (name, host, port)."""
    name, _, address = spec.partition('=')
    host, _, port = address.rpartition(':')
    return name, host.strip('[]'), int(port)


def main(argv: list[str] | None = None) -> int:
    for spec in sys.argv[1:] if argv is None else argv:
        try:
            name, host, port = parse(spec)
        except ValueError:
            print(f'ports: {spec!r} is not NAME=HOST:PORT', file=sys.stderr)
            return 2
        try:
            taken = busy(host, port)
        except OSError as error:
            print(f'make run: cannot listen on {host}:{port} ({name}): {error.strerror}', file=sys.stderr)
            return 1
        if taken:
            print(
                f'make run: port {port} ({name}) is in use on {host}: stop what listens there, '
                f'or choose another port, e.g. {name}={port + 1} make run',
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
