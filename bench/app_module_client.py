"""Alternative 2: one client at module level, shared by the worker's threads (requests' default pool)."""

from bench.naive import make_app, new_client

CLIENT = new_client()
app = make_app(lambda: CLIENT)
