"""Command-line tools for developers: `python -m api.cli.demo`, `python -m api.cli.procfile`."""
