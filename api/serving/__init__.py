"""The serving process: gunicorn's worker, its hooks, the linger on close, body reads and the access line."""
