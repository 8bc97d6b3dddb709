"""The gunicorn settings file of the benchmark's own apps: none, gunicorn's defaults and the command line's.

Without `--config` naming this file, gunicorn reads ./gunicorn.conf.py, couchgate's (a JSON access
line per request, its hooks and timeouts), and the bare targets would pay for couchgate's log.
"""
