# Two commands for a fresh machine:
#   make run    set everything up and open the app
#   make test   set everything up and run the whole test suite
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: setup run test bench clean

setup:
	@VENV=$(VENV) ./scripts/setup.sh

run: setup
	$(VENV)/bin/studytool

test: setup
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
