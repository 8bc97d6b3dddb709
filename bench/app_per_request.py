"""Alternative 1, where users start: a new client, so a new TLS connection, in every request."""

from bench.naive import make_app, new_client

app = make_app(new_client)
