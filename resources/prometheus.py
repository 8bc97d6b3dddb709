"""The Prometheus scrape endpoint."""

from __future__ import annotations

from typing import ClassVar

from injector import inject

from api.observability.metrics import Metrics


class PrometheusMetrics:
    """GET: every worker's metrics in the Prometheus text format."""

    scopes: ClassVar[dict[str, str]] = {'GET': 'read'}  # what a key needs (api/edge/keys.py)

    @inject
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_get(self, req, resp):
        resp.content_type = self._metrics.content_type
        resp.data = self._metrics.render()
