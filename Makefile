# couchgate's developer and CI entry points: make install | run | test | bench | clean
VENV := .venv
PYTHON ?= python3
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
CLOUDANT_DATABASES ?= foundbite

export CLOUDANT_DATABASES
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

INSTALLED := $(VENV)/.requirements-dev.installed
NODE_INSTALLED := node_modules/.package-lock.json

.PHONY: install run test bench bench-profile clean

install: $(INSTALLED) $(NODE_INSTALLED)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The stamp lives inside the venv, so a new venv reinstalls. The second install makes
# couchgate editable: tests and `make run` use the working tree, not a copy in site-packages.
$(INSTALLED): requirements.txt requirements-dev.txt $(wildcard pyproject.toml setup.py) | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --no-deps -e .
	touch $@

# npm ci rewrites node_modules/.package-lock.json; touch it in case npm kept the old one.
$(NODE_INSTALLED): package-lock.json package.json
	npm ci
	touch $@

# With CLOUDANT_URL set, serve against it; otherwise start and seed a local server too.
run: install
ifdef CLOUDANT_URL
	honcho -f Procfile start -p $(PORT) web
else
	honcho -f Procfile.dev start -p $(PORT)
endif

test: install
	python -m pytest $(PYTEST_ARGS)

# Not part of `make test`: a few minutes of load; options in `python -m bench.run --help`,
# e.g. make bench BENCH_ARGS="--duration 4 --sweep 16 --docs 20000".
bench: install
	python -m bench.run $(BENCH_ARGS)

bench-profile: install
	python -m bench.run --profile $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .data build *.egg-info bench/work
