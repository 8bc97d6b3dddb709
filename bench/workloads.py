"""The benchmark's workloads: what each target is asked, and what the upstream is asked for it.

Every app target (bench/naive.py, bench/app_passthrough.py, couchgate) serves the same API
request the same way: one upstream call each, the same upstream request for the same answer.
"""

from __future__ import annotations

import dataclasses
import json

from bench.chain import DB, WRITES_DB
from bench.design_docs import shipped

BENCH_KEY = 'bench-key-0123456789abcdef'  # couchgate's API_KEYS in the benchmark: writes need a key
DOC_ID = 'doc-000042'
# A new document per request (the upstream picks its id): the size of one business record.
NEW_DOC = {'type': 'order', 'customer': 'customer-042', 'total': 57.54, 'status': 'new', 'items': []}
_JSON = {'Content-Type': 'application/json', 'Accept': 'application/json'}
# requests (under the SDK) accepts gzip, and pouchdb-server compresses: the direct target does too.
_AS_THE_SDK = dict(_JSON, **{'Accept-Encoding': 'gzip, deflate'})


@dataclasses.dataclass(frozen=True)
class Workload:
    """One API request, and the upstream request that answers it (the direct target sends that)."""

    name: str
    path: str  # of the API request, from /v1
    method: str = 'GET'
    body: str | None = None
    upstream: dict = dataclasses.field(default_factory=dict)  # path, method, body, headers

    def request(self, *, key: str | None = None) -> dict:
        """run_load's method, body and headers for an app target."""
        headers = {'Content-Type': 'application/json'} if self.body is not None else {}
        if key is not None and self.method != 'GET':
            headers['Authorization'] = f'Bearer {key}'
        return {'method': self.method, 'body': self.body, 'headers': headers}


# couchgate's upstream request for a first page (api/upstream/cloudant_reads.py): the limit plus one
# row (the next page's key) plus the design documents the page crosses, up to pouchdb's highest id.
HIGHEST_ID = '\uffff' * 4


def listing_body(limit: int, include_docs: bool, design_docs: int) -> str:
    """The `_all_docs` body of a first page of `limit` rows, as couchgate sends it."""
    return json.dumps({'limit': limit + 1 + design_docs, 'include_docs': include_docs, 'end_key': HIGHEST_ID})


def _listing(name: str, limit: int, include_docs: bool) -> Workload:
    query = f'limit={limit}' + ('&include_docs=true' if include_docs else '')
    upstream_body = listing_body(limit, include_docs, shipped())
    return Workload(
        name,
        f'/v1/{DB}/docs?{query}',
        upstream={
            'path': f'/{DB}/_all_docs',
            'method': 'POST',
            'body': upstream_body,
            'headers': _AS_THE_SDK,
        },
    )


def workloads(limit: int = 100) -> dict[str, Workload]:
    """By short name (`--workloads`), in the order they run."""
    new_doc = json.dumps(NEW_DOC)
    return {
        'document': Workload(
            'a document by id',
            f'/v1/{DB}/docs/{DOC_ID}',
            upstream={'path': f'/{DB}/{DOC_ID}', 'method': 'GET', 'headers': _AS_THE_SDK},
        ),
        # The first page: from the lowest id, across the design documents (bench/design_docs.py).
        'ids': _listing(f'a listing of {limit} ids', limit, include_docs=False),
        'docs': _listing(f'a listing of {limit} documents', limit, include_docs=True),
        # Into a database of its own: new ids would otherwise change what the listings list.
        'write': Workload(
            'a write (POST of a new document)',
            f'/v1/{WRITES_DB}/docs',
            method='POST',
            body=new_doc,
            upstream={'path': f'/{WRITES_DB}', 'method': 'POST', 'body': new_doc, 'headers': _AS_THE_SDK},
        ),
    }
