"""The bench database's design documents: the release phase's own (design/foundbite), deployed the
way api/release_design.py deploys them, so listings cross a `_design/` block as users' pages do.

Ids like `_design/places` sort before `doc-000001` ('_' is 0x5F, 'd' 0x64): the first page of a
listing, from the lowest id, holds them. couchgate learns their count from DESIGN_DIR at start-up
(api/upstream/design_block.py) and asks for that many more rows; the pass-through and the
module-level client are told the count (BENCH_DESIGN_DOCS) and ask for as many more too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibmcloudant import CloudantV1

from api.config.design import load_design
from api.release_design import deploy_design
from bench.processes import REPO_ROOT

SOURCE = REPO_ROOT / 'design' / 'foundbite'


def design_dir(work: Path, db: str) -> Path:
    """A DESIGN_DIR whose `db` folder holds design/foundbite's files."""
    root = work / 'design'
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(SOURCE, root / db)
    return root


def count(root: Path, db: str) -> int:
    """How many design documents the directory puts in `db` (views' and indexes')."""
    return load_design(root, (db,)).ddoc_count(db)


def deploy(url: str, root: Path, db: str) -> tuple[int, int]:
    """Deploy the directory's design documents and indexes into `db` at `url`; (changed, unchanged)."""
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(url)
    return deploy_design(client, _call, load_design(root, (db,)), db, say=lambda line: None)


def _call(request, doing: str, absent: int | None = None):
    try:
        return request()
    except ApiException as e:
        if e.status_code == absent:
            return None
        raise RuntimeError(f'HTTP {e.status_code} {doing}') from None


def shipped(db: str = 'foundbite') -> int:
    """How many design documents design/ ships (the bench deploys those): known before any server."""
    return load_design(SOURCE.parent, (db,)).ddoc_count(db)
