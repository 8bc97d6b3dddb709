"""A small load generator: N keep-alive clients reading documents, every answer checked."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests


@dataclasses.dataclass
class LoadResult:
    """What the clients saw: one entry per request sent."""

    statuses: list[int] = dataclasses.field(default_factory=list)
    request_ids: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)  # no HTTP answer at all
    corrupted: list[str] = dataclasses.field(default_factory=list)  # another request's answer, bad JSON
    missing_headers: list[str] = dataclasses.field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        for field in dataclasses.fields(self):
            getattr(self, field.name).extend(getattr(other, field.name))


def read_documents(base_url: str, db: str, doc_ids: list[str], total: int, concurrency: int) -> LoadResult:
    """GET /v1/{db}/docs/{id} `total` times from `concurrency` clients, each on its own session."""
    shares = [range(client, total, concurrency) for client in range(concurrency)]
    run = uuid.uuid4().hex[:8]

    def client(numbers) -> LoadResult:
        result = LoadResult()
        with requests.Session() as session:
            for n in numbers:
                doc_id, request_id = doc_ids[n % len(doc_ids)], f'load-{run}-{n}'
                try:
                    response = session.get(
                        f'{base_url}/v1/{db}/docs/{doc_id}', timeout=30, headers={'X-Request-ID': request_id}
                    )
                except requests.RequestException as e:
                    result.errors.append(f'{request_id}: {type(e).__name__}')
                    continue
                result.statuses.append(response.status_code)
                result.request_ids.append(request_id)
                _check(response, doc_id, request_id, result)
        return result

    total_result = LoadResult()
    with ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(client, shares):
            total_result.extend(result)
    return total_result


def _check(response: requests.Response, doc_id: str, request_id: str, result: LoadResult) -> None:
    if response.headers.get('X-Request-ID') != request_id:
        result.corrupted.append(f'{request_id}: answered as {response.headers.get("X-Request-ID")}')
    if 'cloudant;' not in response.headers.get('Server-Timing', ''):
        result.missing_headers.append(request_id)
    if response.status_code == 200:
        try:
            body_id = response.json().get('_id')
        except ValueError:
            body_id = '<not JSON>'
        if body_id != doc_id:
            result.corrupted.append(f'{request_id}: asked for {doc_id}, got {body_id}')
