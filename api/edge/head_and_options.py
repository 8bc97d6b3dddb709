"""HEAD on every GET route, OPTIONS as 204, and one Allow per route for OPTIONS and 405 alike."""

from __future__ import annotations

import falcon

# The order Allow lists them in; HEAD wherever GET is, OPTIONS everywhere.
_ORDER = ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')


def allowed_methods(resource: object) -> str:
    """The Allow header of a route: what its resource answers."""
    methods = {m for m in _ORDER if hasattr(resource, 'on_' + m.lower())} | {'OPTIONS'}
    if 'GET' in methods:
        methods.add('HEAD')
    return ', '.join(m for m in _ORDER if m in methods)


class HeadAndOptions:
    """HEAD runs the GET responder, and the body is dropped at the end (streams closed unread).

    Falcon routes by `req.method`: for HEAD it is GET until the response, so every check
    (keys, caching, the representation) treats HEAD exactly as GET and the headers match. This
    middleware must come before those whose process_response should see HEAD again (the log).
    """

    def process_request(self, req, resp):
        if req.method == 'HEAD':
            req.method = 'GET'

    def process_response(self, req, resp, resource, req_succeeded):
        if req.env.get('REQUEST_METHOD') == 'HEAD':
            req.method = 'HEAD'  # from here on Falcon sends no body, and the log says HEAD
            _drop_stream(resp)
        if resource is None:
            return
        if resp.status_code == 405 or req.method == 'OPTIONS':
            resp.set_header('Allow', allowed_methods(resource))
        if req.method == 'OPTIONS' and resp.status_code == 200:
            # Falcon's default OPTIONS answer is a 200 with an empty JSON body: nothing to say, so 204.
            resp.status = falcon.HTTP_204
            resp.data = resp.text = resp.media = None
            resp.delete_header('Content-Length')  # RFC 9110 8.6: never on a 204


def _drop_stream(resp) -> None:
    # Falcon leaves a HEAD's stream unread and unclosed: the export's paging or a file would leak.
    close = getattr(resp.stream, 'close', None)
    if close is not None:
        close()
    if resp.stream is not None:
        resp.stream = ()  # no length: an empty body of length 0 would claim Content-Length: 0
