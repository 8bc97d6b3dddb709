"""For the end-to-end tests of `web`: a seeded database, the process's environment, its lines by worker."""

from __future__ import annotations

from collections import Counter

WORKERS, THREADS = 2, 4


def seed_documents(couch_admin, db: str, count: int = 50) -> list[str]:
    """Write `count` small documents straight to the server; returns their ids."""
    ids = [f'doc-{n:03d}' for n in range(count)]
    response = couch_admin.post(
        f'{db}/_bulk_docs', json={'docs': [{'_id': i, 'n': n} for n, i in enumerate(ids)]}
    )
    assert response.status_code == 201, response.text
    return ids


def web_env(front, ca_bundle: str, db: str, **extra: str) -> dict[str, str]:
    """The dyno's config vars for a `web` process whose upstream is the counting TLS front."""
    return dict(
        {
            'CLOUDANT_URL': front.url,
            'CLOUDANT_CA_BUNDLE': ca_bundle,
            'CLOUDANT_DATABASES': db,
            'WEB_CONCURRENCY': str(WORKERS),
            'GUNICORN_THREADS': str(THREADS),
        },
        **extra,
    )


def total(lines: list[dict], field: str) -> int:
    """The sum of `field` over the log lines that have it."""
    return sum(line[field] for line in lines if field in line)


def new_connections_by_pid(web) -> Counter[int]:
    """new_connections of the app's lines per worker pid (joined to gunicorn's access line by request_id)."""
    pid_of = {line['request_id']: line['pid'] for line in web.lines('gunicorn.access')}
    counts: Counter[int] = Counter()
    for line in web.lines('couchgate.request'):
        counts[pid_of[line['request_id']]] += line['new_connections']
    return counts


def requests_by_pid(web) -> Counter[int]:
    return Counter(line['pid'] for line in web.lines('gunicorn.access'))
