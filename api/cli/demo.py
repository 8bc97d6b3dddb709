"""Seed a CouchDB-compatible server with demo documents: `python -m api.cli.demo`."""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from api.bootstrap import settings_or_exit

TIMEOUT = (3.05, 30)  # (connect, read): an admin-only call to pouchdb-server can hang
BATCH = 500

DISHES = (
    'ramen',
    'tacos',
    'falafel wrap',
    'pierogi',
    'bibimbap',
    'margherita',
    'pad thai',
    'banh mi',
    'shakshuka',
    'poke bowl',
    'gyoza',
    'arepa',
)
CUISINES = (
    'japanese',
    'mexican',
    'lebanese',
    'polish',
    'korean',
    'italian',
    'thai',
    'vietnamese',
    'israeli',
    'hawaiian',
    'chinese',
    'venezuelan',
)
TAGS = ('vegetarian', 'spicy', 'quick', 'street food', 'comfort', 'late night', 'shareable')


class ServerUnavailable(RuntimeError):
    """No CouchDB-compatible server answered in time."""


def redact(url: str) -> str:
    """The URL without user name or password, fit to print."""
    parts = urlsplit(url)
    host = parts.hostname or ''
    if ':' in host:
        host = f'[{host}]'
    netloc = f'{host}:{parts.port}' if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def bite(n: int) -> dict:
    """Demo document number `n` (1-based); the same `n` always gives the same document."""
    kind = n % len(DISHES)  # DISHES and CUISINES pair up by index
    return {
        '_id': f'bite-{n:04d}',
        'type': 'bite',
        'name': f'{DISHES[kind]} #{n}',
        'cuisine': CUISINES[kind],
        'price': round(4 + (n * 37 % 160) / 10, 2),
        'rating': round(1 + (n * 13 % 41) / 10, 1),
        'tags': sorted({TAGS[n % len(TAGS)], TAGS[(n * 3 + 1) % len(TAGS)]}),
    }


def wait_for_server(session: requests.Session, url: str, wait: float) -> None:
    """Poll `GET /` until the server answers or `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            response = session.get(url, timeout=(3.05, 10))
            if response.status_code < 500:
                return
            problem = f'HTTP {response.status_code}'
        except (requests.ConnectionError, requests.Timeout) as error:
            problem = type(error).__name__
        if time.monotonic() >= deadline:
            raise ServerUnavailable(f'no server answered at {redact(url)} within {wait:g} s ({problem})')
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def ensure_database(session: requests.Session, db_url: str) -> None:
    """Create the database unless it exists; creating needs admin rights, so look first."""
    if session.get(db_url, timeout=TIMEOUT).status_code == 200:
        return
    response = session.put(db_url, timeout=TIMEOUT)
    if response.status_code not in (201, 202, 412):  # 412: someone else created it
        response.raise_for_status()


def missing_ids(session: requests.Session, db_url: str, ids: list[str]) -> list[str]:
    """The ids among `ids` with no live document (never created, or deleted)."""
    response = session.post(f'{db_url}/_all_docs', json={'keys': ids}, timeout=TIMEOUT)
    response.raise_for_status()
    live = {
        row['key'] for row in response.json()['rows'] if 'value' in row and not row['value'].get('deleted')
    }
    return [doc_id for doc_id in ids if doc_id not in live]


def add_documents(session: requests.Session, db_url: str, docs: list[dict]) -> int:
    """Write `docs` in one `_bulk_docs` call; return how many this call created."""
    if not docs:
        return 0
    response = session.post(f'{db_url}/_bulk_docs', json={'docs': docs}, timeout=TIMEOUT)
    response.raise_for_status()
    failed = [r for r in response.json() if 'error' in r and r['error'] != 'conflict']
    if failed:  # a conflict means a concurrent run created it: fine
        raise RuntimeError(f'_bulk_docs refused {len(failed)} documents, first: {failed[0]}')
    return sum(1 for r in response.json() if 'error' not in r)


def seed(url: str, db: str, count: int, wait: float = 0, session=None) -> tuple[int, int]:
    """Make sure documents 1..count exist in `db`; return (documents in db, documents added)."""
    session = session or requests.Session()
    base = url.rstrip('/')
    wait_for_server(session, base + '/', wait)
    db_url = f'{base}/{quote(db, safe="")}'
    ensure_database(session, db_url)
    added = 0
    for start in range(1, count + 1, BATCH):
        numbers = range(start, min(start + BATCH, count + 1))
        wanted = set(missing_ids(session, db_url, [f'bite-{n:04d}' for n in numbers]))
        added += add_documents(session, db_url, [d for d in map(bite, numbers) if d['_id'] in wanted])
    info = session.get(db_url, timeout=TIMEOUT)
    info.raise_for_status()
    return info.json()['doc_count'], added


# The answers of a server that is not the one expected: say what that likely means.
_WRONG_SERVER = ': not a CouchDB-compatible server; is another program on that port?'
_HINTS = {
    401: ': the server wants credentials; is another CouchDB on that port? (make run: COUCH_PORT)',
    403: ': the server refuses these credentials',
    405: _WRONG_SERVER,
    501: _WRONG_SERVER,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m api.cli.demo', description=__doc__)
    parser.add_argument(
        '--url',
        help='server URL, credentials included if any '
        '(default: CLOUDANT_URL and its credentials, read as the app reads them)',
    )
    parser.add_argument('--db', default='foundbite', help='database (default: %(default)s)')
    parser.add_argument('--count', type=int, default=100, help='documents (default: %(default)s)')
    parser.add_argument(
        '--wait',
        type=float,
        default=0,
        help='seconds to wait for the server to answer (default: %(default)s)',
    )
    args = parser.parse_args(argv)
    session = requests.Session()
    if args.url:
        url = args.url  # requests sends its userinfo, if any, as basic auth
    else:
        settings = settings_or_exit('demo')
        if settings.auth_type == 'IAM':
            parser.exit(2, 'demo: IAM credentials are not supported here; pass --url\n')
        url = settings.url
        if settings.username:
            session.auth = (settings.username, settings.password or '')
    try:
        total, added = seed(url, args.db, args.count, args.wait, session)
    except requests.HTTPError as error:  # its message quotes the URL, credentials included
        response = error.response
        print(
            f'demo: HTTP {response.status_code} {response.reason} from {redact(response.url)}'
            + _HINTS.get(response.status_code, ''),
            file=sys.stderr,
        )
        return 1
    except requests.RequestException as error:
        print(f'demo: {type(error).__name__} talking to {redact(url)}', file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f'demo: {error}', file=sys.stderr)
        return 1
    print(f'demo: {args.db} has {total} documents (added {added})', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
