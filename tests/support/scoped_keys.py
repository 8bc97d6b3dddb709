"""Least-privilege keys as the tests configure them, and the check, at the upstream side, that a
key's requests stayed inside its databases and its id prefix (tests/support/tls_front.py records them).
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import unquote, urlsplit

PREFIX = 't7:'
SECRETS = {
    'full': 'full-key-0123456789abcdef',
    'reader': 'reader-key-0123456789abcdef',
    'querier': 'querier-key-0123456789abcdef',
    'scoped': 'scoped-key-0123456789abcdef',
    'tenant': 'tenant-key-0123456789abcdef',
    'browser': 'browser-key-0123456789abcdef',  # configured only by its sha256
    'rotating-old': 'rotating-old-key-0123456789abcdef',
    'rotating-new': 'rotating-new-key-0123456789abcdef',  # by its sha256 too
}
WRONG = 'wrong-key-0123456789abcdef'
ALL = ['read', 'query', 'export', 'write']


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_keys(db: str, other: str) -> str:
    """API_KEYS as JSON: `scoped` sees only `other`; `tenant` only ids starting with PREFIX in `db`."""
    keys = [
        {'name': 'full', 'key': SECRETS['full'], 'scopes': ALL},
        {'name': 'reader', 'key': SECRETS['reader'], 'scopes': ['read']},
        {'name': 'querier', 'key': SECRETS['querier'], 'scopes': ['query']},
        {'name': 'scoped', 'key': SECRETS['scoped'], 'scopes': ALL, 'databases': [other]},
        {
            'name': 'tenant',
            'key': SECRETS['tenant'],
            'scopes': ['read', 'write', 'query', 'export'],
            'databases': [db],
            'id_prefix': PREFIX,
        },
        {'name': 'browser', 'sha256': sha256(SECRETS['browser']), 'scopes': ['read', 'query']},
        {'name': 'rotating', 'key': SECRETS['rotating-old'], 'scopes': ALL},
        {'name': 'rotating', 'sha256': sha256(SECRETS['rotating-new']), 'scopes': ALL},
    ]
    return json.dumps(keys)


def bearer(who: str) -> dict:
    """The Authorization header of a key of SECRETS, of the wrong key, or none for 'anonymous'."""
    if who == 'anonymous':
        return {}
    return {'Authorization': f'Bearer {WRONG if who == "wrong" else SECRETS[who]}'}


def assert_upstream_within(requests, couch_admin, databases: set[str], prefix: str | None) -> int:
    """Every recorded upstream request stayed in `databases` and, with a prefix, in its id range:
    documents by id, key ranges of _all_docs, Mango selectors. Each listing or query is sent again,
    directly to the server: not one row of its answer may fall outside the prefix. Returns the rows
    so checked."""
    rows_checked = 0
    for record in requests:
        path = urlsplit(record.path).path
        if path == '/':
            continue  # GET /: which order the server compares ids in
        db, _, rest = path.lstrip('/').partition('/')
        assert unquote(db) in databases, f'{record.method} {record.path} left {sorted(databases)}'
        if prefix is None:
            continue
        if not rest.startswith('_'):
            assert unquote(rest).startswith(prefix), f'{record.method} {record.path}: outside {prefix!r}'
            continue
        assert rest in ('_all_docs', '_find'), f'{record.method} {record.path}: not a read of ids'
        body = json.loads(record.body)
        if rest == '_all_docs':
            bounds = body['keys'] if 'keys' in body else [body.get('start_key'), body.get('end_key')]
            inside = all(isinstance(k, str) and k.startswith(prefix) for k in bounds)
            assert inside, f'key range {bounds} leaves {prefix!r}'
        else:
            clauses = body['selector'].get('$and', [])
            assert any('$regex' in c.get('_id', {}) for c in clauses), f'selector not clamped: {clauses}'
        answer = couch_admin.request(
            record.method, record.path, data=record.body, headers={'Content-Type': 'application/json'}
        ).json()
        found = [r['id'] for r in answer.get('rows', []) if 'id' in r] + [
            d['_id'] for d in answer.get('docs', [])
        ]
        outside = [i for i in found if not i.startswith(prefix)]
        assert not outside, f'{record.path} {record.body!r} answers rows outside {prefix!r}: {outside}'
        rows_checked += len(found)
    return rows_checked
