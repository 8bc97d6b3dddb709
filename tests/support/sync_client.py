"""The replication endpoint's tests: keys with and without an id prefix, a caller of `/sync/{db}`, and
the check of CouchDB's error shape (`{"error", "reason"}` as application/json, never problem+json)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from falcon import testing

# name: (id prefix, scopes)
KEYS: dict[str, tuple[str | None, list[str]]] = {
    'alpha': ('t1:', ['read', 'write']),
    'bravo': ('t2:', ['read', 'write']),
    'whole': (None, ['read', 'write']),  # the database as it is, design documents aside
    'whole2': (None, ['read', 'write']),
    'reader': ('t1:', ['read']),
    'writer': ('t1:', ['write']),
}


def secret(who: str) -> str:
    return f'{who}-key-0123456789abcdef'


def api_keys(elsewhere: str | None = None) -> str:
    """API_KEYS as JSON; with `elsewhere`, a key `elsewhere` (alpha's rights) of that database alone."""
    keys: list[dict[str, Any]] = [
        {'name': who, 'key': secret(who), 'scopes': scopes, **({'id_prefix': prefix} if prefix else {})}
        for who, (prefix, scopes) in KEYS.items()
    ]
    if elsewhere is not None:
        keys.append(
            {
                'name': 'elsewhere',
                'key': secret('elsewhere'),
                'scopes': ['read', 'write'],
                'id_prefix': 't1:',
                'databases': [elsewhere],
            }
        )
    return json.dumps(keys)


def bearer(who: str | None) -> dict[str, str]:
    """The Authorization header of a key of KEYS (or 'elsewhere', or 'wrong'); none for None."""
    if who is None:
        return {}
    return {'Authorization': f'Bearer {secret(who)}'}


@dataclasses.dataclass
class Sync:
    """Calls `/sync/{db}<path>` as a key: `sync('GET', '/_changes', who='bravo', params={...})`."""

    client: testing.TestClient
    db: str

    def __call__(
        self, method: str, path: str = '', payload: Any = None, who: str | None = 'alpha', **kwargs: Any
    ) -> testing.Result:
        headers = dict(bearer(who), **kwargs.pop('headers', {}))
        return self.client.simulate_request(
            method, f'/sync/{self.db}{path}', json=payload, headers=headers, **kwargs
        )


def assert_couch_error(result: testing.Result, status: int, error: str) -> str:
    """`result` is CouchDB's error of `status` named `error`; returns its reason."""
    assert result.status_code == status, f'{result.status_code}: {result.text}'
    assert result.headers['content-type'] == 'application/json', result.headers['content-type']
    assert set(result.json) == {'error', 'reason'}, result.json
    assert result.json['error'] == error, result.json
    reason = result.json['reason']
    assert isinstance(reason, str) and reason and 'Traceback' not in reason
    return reason
