# The two commands of the README: `make demo` and `make test`. Everything
# else here is what they need on a fresh Debian machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/checkpoint-scanner demo

lint: $(STAMP)
	$(BIN)/ruff check scanner provisioning tests
	$(BIN)/ruff format --check scanner provisioning tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/checkpoint-scanner bench verify --json
	$(BIN)/checkpoint-scanner bench revocations --entries 10000000 --json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
