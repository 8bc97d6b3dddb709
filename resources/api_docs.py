"""The API's description: the OpenAPI document, and an interactive page served without any CDN."""

from __future__ import annotations

import json

import falcon
from swagger_ui.utils import SWAGGER_UI_PY_ROOT

from api.errors import Problem

# Swagger UI 5 (OpenAPI 3.1) as shipped in the swagger-ui-py wheel: served from the installed package.
SWAGGER_UI_DIR = SWAGGER_UI_PY_ROOT / 'static'
ASSETS = {
    'swagger-ui.css': 'text/css; charset=utf-8',
    'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
    'favicon-32x32.png': 'image/png',
}
# Ours, not inline: the page's Content-Security-Policy allows scripts from this origin only.
INIT_JS = b"""window.onload = function () {
  window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true});
};
"""
PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>couchgate API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
"""
# Swagger UI's own stylesheet only: React sets element styles through the CSSOM, which CSP allows;
# only an aligned column of a Markdown table (a style attribute in generated HTML) loses its alignment.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


class OpenApiDocument:
    """GET /openapi.json: the OpenAPI 3.1 description of every route."""

    public = True
    cache_control = 'no-cache'

    def __init__(self) -> None:
        self._body = b'{}'

    def describe(self, document: dict) -> None:
        """Set the document, once the app knows every route (api/app.py)."""
        self._body = json.dumps(document).encode()

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body


class SwaggerPage:
    """GET /docs: Swagger UI over /openapi.json."""

    public = True
    cache_control = 'max-age=3600'  # not 'public': answers to a request with a key are no-store anyway

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header('Content-Security-Policy', PAGE_POLICY)
        resp.data = PAGE


class SwaggerAsset:
    """GET /docs/assets/{name}: the page's script, and Swagger UI's files by name (no other path)."""

    public = True
    cache_control = 'max-age=3600'  # not 'public': answers to a request with a key are no-store anyway

    def on_get(self, req, resp, name):
        if name == 'init.js':
            resp.content_type = ASSETS['swagger-ui-bundle.js']
            resp.data = INIT_JS
            return
        if name not in ASSETS:
            raise Problem(404, 'not-found', 'No such file.')
        path = SWAGGER_UI_DIR / name
        resp.content_type = ASSETS[name]
        resp.content_length = path.stat().st_size
        resp.stream = path.open('rb')
