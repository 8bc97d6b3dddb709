# couchgate's developer and CI entry points: make install | run | token | test | test-unit | lint | format | bench | clean
VENV := .venv
PYTHON ?= python3
PORT ?= 8000
# make run's addresses: the local API and the local server listen on loopback only, unless HOST
# says otherwise (e.g. HOST=0.0.0.0); the Procfile's Heroku line keeps its own bind ([::]).
HOST ?= 127.0.0.1
COUCH_PORT ?= 5984
REDIS_PORT ?= 6379
DEV_ISSUER_PORT ?= 5556
SUB ?= alice
PYTEST_ARGS ?=
BENCH_ARGS ?=
CLOUDANT_DATABASES ?= foundbite

export CLOUDANT_DATABASES
export HOST COUCH_PORT REDIS_PORT DEV_ISSUER_PORT
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

RUN_INSTALLED := $(VENV)/.requirements-local.installed
INSTALLED := $(VENV)/.requirements-dev.installed
NODE_INSTALLED := node_modules/.package-lock.json
CHROMIUM_INSTALLED := $(VENV)/.chromium.installed
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo )env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: install install-run run token test test-unit lint format bench bench-profile clean

# Everything: tests and benchmark tools too, and Debian's Chromium and its driver for the browser test
# (tests/e2e/test_changes_browser.py) when they are missing: apt-get update only if the install fails.
install: $(INSTALLED) $(NODE_INSTALLED) $(CHROMIUM_INSTALLED)

# What `make run` needs: the runtime pins, honcho and the local server; quicker on a fresh clone.
install-run: $(RUN_INSTALLED) $(NODE_INSTALLED)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The stamps live inside the venv, so a new venv reinstalls. The editable install makes tests and
# `make run` use the working tree, not a copy in site-packages.
$(RUN_INSTALLED): requirements.txt requirements-local.txt pyproject.toml setup.cfg | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -r requirements-local.txt
	$(VENV)/bin/python -m pip install --no-deps -e .
	touch $@

$(INSTALLED): requirements-dev.txt $(RUN_INSTALLED)
	$(VENV)/bin/python -m pip install -r requirements-dev.txt
	touch $@

# A stamp, so that `make -q install` tells whether anything is left to install.
$(CHROMIUM_INSTALLED): | $(VENV)/bin/python
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || $(APT_GET) install -y chromium chromium-driver \
		|| { $(APT_GET) update && $(APT_GET) install -y chromium chromium-driver; }
	touch $@

# npm ci rewrites node_modules/.package-lock.json; touch it in case npm kept the old one.
# --ignore-scripts: leveldown ships prebuilt binaries and sqlite3 is not used, so no install
# script is needed, and npm's handling of them took about 70 of the 75 s of a plain `npm ci`.
$(NODE_INSTALLED): package-lock.json package.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# With CLOUDANT_URL set, serve against it; otherwise start and seed a local server, and a local Redis. First, a
# busy port is one line naming it, before anything starts (api/cli/ports.py).
# gunicorn reads GUNICORN_CMD_ARGS after gunicorn.conf.py: its bind replaces the config's [::].
run: export GUNICORN_CMD_ARGS := --bind=$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)):$(PORT) $(GUNICORN_CMD_ARGS)
run: install-run
ifdef CLOUDANT_URL
	@python -m api.cli.ports PORT=$(HOST):$(PORT)
	honcho -f Procfile start -p $(PORT) web
else
	@python -m api.cli.ports COUCH_PORT=$(HOST):$(COUCH_PORT) REDIS_PORT=$(HOST):$(REDIS_PORT) DEV_ISSUER_PORT=127.0.0.1:$(DEV_ISSUER_PORT) PORT=$(HOST):$(PORT)
	honcho -f Procfile.dev start -p $(PORT)
endif

# A token of `make run`'s local development issuer for the user SUB (e.g. make token SUB=bob), valid
# for an hour: send it as Authorization: Bearer <token>. Optional SCOPE="read query" narrows it.
token: install-run
	@python -m api.cli.dev_issuer token --port $(DEV_ISSUER_PORT) --sub '$(SUB)' $(if $(SCOPE),--scope '$(SCOPE)')

# Everything: unit, integration (the local server, node) and end-to-end (gunicorn, make run).
test: install
	python -m pytest $(PYTEST_ARGS)

# The fast loop: tests/unit alone, in seconds; no server, so the Python install is all it needs.
test-unit: $(INSTALLED)
	python -m pytest tests/unit $(PYTEST_ARGS)

# ruff (lint and format check) and mypy (pyproject.toml): zero findings, or a failed build.
lint: $(INSTALLED)
	ruff check .
	ruff format --check .
	mypy

format: $(INSTALLED)
	ruff check --fix .
	ruff format .

# Not part of `make test`: a few minutes of load; options in `python -m bench.run --help`,
# e.g. make bench BENCH_ARGS="--workloads ids,docs --targets pass-through,couchgate --docs 20000".
bench: install
	python -m bench.run $(BENCH_ARGS)

bench-profile: install
	python -m bench.run --profile $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .data build *.egg-info bench/work
