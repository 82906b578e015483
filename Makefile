# Coax developer commands. Everything runs as ordinary processes (no Docker):
# `make test` and `make demo` create .venv, start the local stack, and stop it
# again, also when something fails.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m infra.local.stack
PYTEST_ARGS ?=

.PHONY: help venv check up down test test-unit demo bench bench-quick lint clean

help:
	@echo "make test    - the whole suite against real PostgreSQL and the Pub/Sub emulator"
	@echo "make demo    - local stack + simulated Microsoft 365 tenant + every service; prints the inventory"
	@echo "make up/down - start/stop the local stack (PostgreSQL, Pub/Sub and Storage emulators)"
	@echo "make bench   - all benchmarks -> .local/bench/results.json"
	@echo "make lint    - ruff"

venv:
	@bash infra/local/venv.sh

check: venv
	@$(STACK) check

up: venv
	@$(STACK) up

down:
	@if [ -x $(PY) ]; then $(STACK) down; fi

test: venv
	@$(STACK) up --reset-db
	@status=0; $(PY) -m pytest tests $(PYTEST_ARGS) || status=$$?; \
	  $(STACK) down; exit $$status

test-unit: venv
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

demo: venv
	@$(PY) -m infra.local.demo

bench: venv
	@$(STACK) up
	@status=0; $(PY) -m tests.bench.run || status=$$?; $(STACK) down; exit $$status

bench-quick: venv
	@$(STACK) up
	@status=0; $(PY) -m tests.bench.run --quick || status=$$?; $(STACK) down; exit $$status

lint: venv
	@$(PY) -m ruff check shared services infra tests

clean: down
	rm -rf .local $(VENV)
