"""The upstream client: one pooled, instrumented session per worker, its retry policy, logins,
the Couch port the resources call, and the translation of upstream failures into API problems.

Knows nothing of Falcon requests, the edge or the resources (tests/unit/test_layering.py).
"""
