"""Heroku's release phase: check the upstream, create the allowed databases and deploy design/ to them
(views and Mango indexes as code: api/release_design.py), `python -m api.release`.

Idempotent: a database that exists is left alone, and a design document as in design/ too, so every
deploy can run it. A failure is one
line on stderr (what failed, the status, the database) and a non-zero exit, which stops the deploy.
"""

from __future__ import annotations

import sys

import requests
from ibm_cloud_sdk_core import ApiException
from ibmcloudant import CloudantV1
from urllib3.exceptions import ReadTimeoutError

from api.bootstrap import settings_or_exit
from api.config import ConfigError
from api.config.design import Design
from api.release_design import deploy_design, summary
from container import build_injector


class ReleaseFailed(RuntimeError):
    """The release cannot go on; the message is one line without secrets."""


def release(
    client: CloudantV1, url: str, databases: tuple[str, ...], say=print, design: Design | None = None
) -> int:
    """Check the upstream, create each database unless it exists, deploy design/; returns how many
    databases were created."""
    if not databases:
        _call(client.get_server_information, f'checking the server {url}')
        say(f'release: upstream {url} answers; CLOUDANT_DATABASES is empty, nothing to create')
        return 0
    created = 0
    for db in databases:
        # Reading the database is the upstream check (reachable, credentials accepted), and comes
        # before creating: creating needs admin rights, most deploys find it there, and
        # pouchdb-server leaves an admin-only request without valid credentials unanswered.
        where = f'database {db} at {url}'
        if _call(lambda db=db: client.get_database_information(db), f'reading {where}', absent=404):
            say(f'release: {where} exists')
        # 412: created meanwhile (another release, a concurrent deploy): that is fine too.
        elif _call(lambda db=db: client.put_database(db), f'creating {where}', absent=412):
            created += 1
            say(f'release: {where} created')
        else:
            say(f'release: {where} exists')
    changes = [deploy_design(client, _call, design or Design(), db, say) for db in databases]
    say(summary(sum(c for c, _ in changes), sum(u for _, u in changes)))
    say(f'release: done, {created} created, {len(databases) - created} already there')
    return created


def _call(request, doing: str, absent: int | None = None):
    """Run one upstream request, its result; None if it answered `absent`, ReleaseFailed on any other
    failure."""
    try:
        return request()
    except ApiException as e:
        if e.status_code == absent:
            return None
        hint = ' (check the credentials)' if e.status_code in (401, 403) else ''
        raise ReleaseFailed(f'HTTP {e.status_code} {_error(e)} {doing}{hint}') from None
    except requests.exceptions.SSLError:
        raise ReleaseFailed(f'TLS failed {doing} (is CLOUDANT_CA_BUNDLE right?)') from None
    except requests.exceptions.RequestException as e:
        # After urllib3's retries a read timeout arrives as a ConnectionError around MaxRetryError.
        reason = getattr(e.args[0] if e.args else None, 'reason', None)
        timed_out = isinstance(e, requests.exceptions.Timeout) or isinstance(reason, ReadTimeoutError)
        problem = f'no answer in time {doing}' if timed_out else f'cannot connect {doing}'
        raise ReleaseFailed(problem) from None


def _error(e: ApiException) -> str:
    # CouchDB's error code ("unauthorized", "file_exists"), never its free-text reason or the body.
    try:
        code = e.http_response.json().get('error')
    except (AttributeError, ValueError):
        code = None
    return code if isinstance(code, str) and code.isidentifier() else 'error'


def main() -> int:
    settings = settings_or_exit('release')
    try:
        injector = build_injector(settings)
        design = injector.get(Design)  # design/ read and checked before anything is asked upstream
    except ConfigError as e:
        print(f'release: failed: {e}', file=sys.stderr)
        return 1
    client = injector.get(CloudantV1)
    try:
        release(
            client, settings.url, settings.databases, say=lambda line: print(line, flush=True), design=design
        )
    except ReleaseFailed as e:
        print(f'release: failed: {e}', file=sys.stderr)
        return 1
    except Exception as e:  # e.g. an IAM token request: its message may quote credentials
        print(f'release: failed: {type(e).__name__} talking to {settings.url}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
