# Everything a person needs: `make run` starts the local stack, `make test` runs every test.
# Both create .venv and install what they need on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
# the machine's Node 20 still runs the CDK (jsii) fine; its end-of-life banner only buries the output
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20

.PHONY: run test test-fast lint format synth bench load deploy openapi system-deps clean help

help:
	@echo "make run     start the local stack (moto + API on http://127.0.0.1:$(PORT))"
	@echo "make test    run every test tier"
	@echo "make lint    ruff and mypy (strict on layers/ and functions/)"
	@echo "make synth   synthesize the CDK app into cdk.out (no Docker, no credentials)"
	@echo "make bench   parser, reconciliation and pipeline benchmarks against baselines"
	@echo "make load    50 concurrent clients for 60 s against a local stack of its own: 5xx, stuck, totals, latency"
	@echo "make openapi regenerate docs/openapi.json from the API code"

$(STAMP): pyproject.toml
	@echo "installing the dependencies into $(VENV) (the first time takes a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(BIN)/tximport local

# two workers, a file at a time, in the order tests/conftest.py gives (the longest tiers first: xdist's own
# reordering, by the number of tests in a file, left the longest single-test files for the end)
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

synth: $(STAMP)
	$(BIN)/python infra/app.py
	@echo "template written to cdk.out/"

deploy: $(STAMP)
	npx --yes aws-cdk@2 deploy --app "$(BIN)/python infra/app.py"

openapi: $(STAMP)
	$(BIN)/tximport openapi --output docs/openapi.json

# headless Chromium renders the /docs page in the e2e tests (CI runs as root on a fresh machine)
system-deps:
	@command -v chromium >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# starts its own local stack on free loopback ports; bounded in time (60 s + a drain) and in imports
load: $(STAMP)
	$(BIN)/python -m tests.load

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .ruff_cache
