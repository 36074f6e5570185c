# Two commands for a fresh machine:
#   make run    set everything up and open the app
#   make test   set everything up and run the whole test suite
# Everyday work:
#   make check      lint, format, types and import contracts (what CI runs before the tests)
#   make test-fast  the tests that need no sandbox (seconds, not minutes)
#   make fix        apply ruff's fixes and format
VENV ?= .venv
PYTEST_ARGS ?=
BIN = $(VENV)/bin

.PHONY: setup run test test-fast check lint types contracts fix bench clean

setup:
	@VENV=$(VENV) ./scripts/setup.sh

run: setup
	$(BIN)/studytool

test: setup
	$(BIN)/python -m pytest -q -n auto $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -q -n auto -m "not sandbox and not slow" $(PYTEST_ARGS)

check: setup lint types contracts

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy

contracts:
	$(BIN)/python scripts/lint_imports.py

fix: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
