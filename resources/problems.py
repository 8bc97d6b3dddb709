"""The problem types' pages: what each `type` URI of a problem document means, and what to do."""

from __future__ import annotations

import html

import falcon

from api.edge.problem_types import PROBLEM_TYPES, ProblemType
from api.errors import PROBLEMS_PATH, Problem, reason_phrase

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
{body}
</body>
</html>
"""


def _page(title: str, body: str) -> bytes:
    return _PAGE.format(title=html.escape(title), body=body).encode()


def _status(problem: ProblemType) -> str:
    return f'{problem.status} {reason_phrase(problem.status)}' if problem.status else 'any 4xx or 5xx'


class ProblemPage:
    """GET /problems/{name}: one problem type, in a few lines of HTML."""

    public = True  # a client meeting a problem may have no key, or a wrong one
    cache_control = 'public, max-age=3600'

    def on_get(self, req, resp, name):
        problem = PROBLEM_TYPES.get(name)
        if problem is None:
            raise Problem(404, 'not-found', f'No problem type is named {name[:64]!r}.')
        resp.content_type = falcon.MEDIA_HTML
        resp.data = _page(
            f'couchgate problem: {name}',
            f'<h1>{html.escape(name)}</h1>\n<p>Status: {_status(problem)}</p>\n'
            f'<h2>When</h2>\n<p>{html.escape(problem.when)}</p>\n'
            f'<h2>What to do</h2>\n<p>{html.escape(problem.todo)}</p>\n'
            '<p><a href="/problems">All problem types</a></p>',
        )


class ProblemIndex:
    """GET /problems: every problem type, linked to its page."""

    public = True
    cache_control = 'public, max-age=3600'

    def on_get(self, req, resp):
        items = '\n'.join(
            f'<li><a href="{PROBLEMS_PATH}{name}">{name}</a>: {html.escape(problem.when)}</li>'
            for name, problem in sorted(PROBLEM_TYPES.items())
        )
        resp.content_type = falcon.MEDIA_HTML
        resp.data = _page('couchgate problem types', f'<h1>Problem types</h1>\n<ul>\n{items}\n</ul>')
