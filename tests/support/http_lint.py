"""httplint (the engine of REDbot) over a falcon test result: what an HTTP linter warns about."""

from __future__ import annotations

from falcon import testing
from httplint import HttpRequestLinter, HttpResponseLinter
from httplint.note import levels

REPORTED = (levels.WARN, levels.BAD)


def lint(result: testing.Result, method: str, path: str, request_headers: dict[str, str]) -> list[str]:
    """The linter's warnings and errors about `result`, the answer to `method path` with those headers."""
    request = HttpRequestLinter()
    request.process_request_topline(method.encode(), f'http://localhost{path}'.encode(), b'1.1')
    request.process_headers([(k.encode(), v.encode()) for k, v in request_headers.items()])
    request.finish_content(True)
    response = HttpResponseLinter()
    response.request = request
    response.process_response_topline(
        b'1.1', str(result.status_code).encode(), result.status.split(' ', 1)[1].encode()
    )
    headers = [(k.encode(), v.encode()) for k, v in result.headers.items()]
    if not any(k.lower() == b'date' for k, _ in headers):
        headers.append((b'Date', testing_date()))  # gunicorn adds Date; the test client does not
    response.process_headers(headers)
    response.feed_content(result.content)
    response.finish_content(True)
    return [f'[{n.level.name}] {n.summary}' for n in response.notes if n.level in REPORTED]


def testing_date() -> bytes:
    from email.utils import formatdate

    return formatdate(usegmt=True).encode()
