# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app clinic
# pytest-xdist workers for `make test`: three on the 2-core CI machine, because many tests wait on
# a server, a browser or a child process, and a third worker fills those waits (measured in
# README, "Tests"). Each worker is a test session of its own (its own PostgreSQL, Redis, ports:
# tests/ports.py); --dist loadfile keeps a module on one worker, so a module's gunicorn or
# Chromium starts once, and --no-loadscope-reorder hands modules out in the order of
# tests/conftest.py (the long ones first).
TEST_WORKERS ?= 3
# pytest rewrites the asserts of the test modules and of its plugins' packages (schemathesis,
# hypothesis: some 270 modules) and caches the result in __pycache__, unless Python is told
# not to write bytecode, as some machines' environments do (PYTHONDONTWRITEBYTECODE=1): then
# every worker parses and compiles them again, about 5 s of CPU each. `make test` lets it write.

.PHONY: run test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/ruff check clinic tests $(wildcard bench)
	$(BIN)/ruff format --check clinic tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/bandit --quiet --recursive clinic --severity-level medium
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --cov --cov-report=term

lint: install
	$(BIN)/ruff check clinic tests $(wildcard bench)
	$(BIN)/bandit --quiet --recursive clinic --severity-level medium
	$(BIN)/ruff format --check clinic tests $(wildcard bench)
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
