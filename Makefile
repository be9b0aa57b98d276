# engineapi — the two set-up commands are `make run` and `make test`; both build .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ENGINES := tests/engines/engines.sh
# The engine `make run` falls back to when none is reachable (root on Debian only).
LOCAL_ENGINE ?= unix:///run/engineapi/docker28.sock

.PHONY: all venv run docs docs-serve test unit test-offline record lint gen check-gen coverage-api bench fuzz soak engines engines-down clean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench,docs]'
	@touch $@

venv: $(STAMP)

# The main job: a diagnosis of the engine engineapi resolves, exactly as the docker CLI would.
run: venv
	@$(BIN)/python -m engineapi doctor || { \
	  if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && [ -z "$$DOCKER_HOST" ]; then \
	    echo "--- no engine answered: starting the local engines ($(ENGINES) up)"; \
	    $(ENGINES) up && DOCKER_HOST=$(LOCAL_ENGINE) $(BIN)/python -m engineapi doctor; \
	  else exit 1; fi; }

# The documentation site (sources in engineapi/docs/, the reference pages generated at build
# time by engineapi._codegen.reference) into engineapi/docs/.site/, any warning an error.
DOCS := engineapi/docs/mkdocs.yml
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --clean -f $(DOCS)

DOCS_PORT ?= 8000
docs-serve: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs serve -f $(DOCS) -a 127.0.0.1:$(DOCS_PORT)

# Everything: generated code up to date, lint, unit tests, live tests on every local engine.
# ENGINEAPI_NO_ENGINES=1 skips starting the engines and the live tests (said loudly).
test: venv
	@if [ -z "$$ENGINEAPI_NO_ENGINES" ]; then $(ENGINES) up; fi
	$(MAKE) --no-print-directory check-gen lint
	$(BIN)/python -m pytest -q -ra

unit: venv
	ENGINEAPI_NO_ENGINES=1 $(BIN)/python -m pytest -q tests/unit

# No engine needed (a laptop, CI): unit tests and the recorded fixtures under fixtures/, replayed.
test-offline: venv
	ENGINEAPI_NO_ENGINES=1 $(BIN)/python -m pytest -q -ra tests/unit tests/replay

# Re-record fixtures/<engine>/<scenario>.json against the live engines (review the diff after).
record: venv
	$(ENGINES) up
	ENGINEAPI_RECORD=1 $(BIN)/python -m pytest -q -ra tests/replay/test_scenarios.py

lint: venv
	$(BIN)/ruff check engineapi tests
	$(BIN)/ruff format --check engineapi tests
	$(BIN)/mypy --strict engineapi

gen: venv
	$(BIN)/python -m engineapi._codegen.models
	$(BIN)/python -m engineapi._codegen.namespaces
	$(BIN)/python -m engineapi._codegen.unasync

check-gen: venv
	$(BIN)/python -m engineapi._codegen.models --check
	$(BIN)/python -m engineapi._codegen.namespaces --check
	$(BIN)/python -m engineapi._codegen.unasync --check

# For every operation of the newest spec: its method on Client and AsyncClient, whether a
# live test calls it, whether a replay cassette holds it; totals at the end.
coverage-api: venv
	@$(BIN)/python tests/tools/coverage_api.py

bench: venv
	@if [ -z "$$ENGINEAPI_NO_ENGINES" ]; then $(ENGINES) up >/dev/null; fi
	$(BIN)/python tests/bench/bench_cpu.py
	$(BIN)/python tests/bench/bench_client.py
	$(BIN)/python tests/bench/bench_models.py
	$(BIN)/python tests/bench/bench_logs.py
	$(BIN)/python tests/bench/bench_ssh.py
	$(BIN)/python tests/bench/bench_backends.py

# Many requests and stream cycles on one client: descriptors, threads and RSS before and after.
soak: venv
	@if [ -z "$$ENGINEAPI_NO_ENGINES" ]; then $(ENGINES) up >/dev/null; fi
	$(BIN)/python tests/bench/soak.py

# The mutation fuzzer over every parser of what a daemon or a file sends: a million inputs,
# then inputs, typed errors, crashes, hangs and peak memory per target (make test runs a
# seeded smoke of each). FUZZ_INPUTS / FUZZ_SEED to change the run.
FUZZ_INPUTS ?= 1000000
FUZZ_SEED ?= 1
fuzz: venv
	$(BIN)/python -m tests.fuzz $(FUZZ_INPUTS) $(FUZZ_SEED)

engines:
	$(ENGINES) up

engines-down:
	$(ENGINES) down

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info engineapi/docs/.site
