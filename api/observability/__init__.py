"""Logs and metrics: JSON log lines, gunicorn's access line, Prometheus metrics that hear the pool."""
