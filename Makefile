# The two commands of the README: `make demo` and `make test`. Everything
# else here is what they need on a fresh Debian machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := scanner provisioning ops tests

.PHONY: demo test lint typecheck services unit system system-arm64 bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/checkpoint-scanner demo

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(STAMP)
	$(BIN)/mypy

# The ops tests run against a real PostgreSQL and a real headless Chromium:
# use what is there, install and start them otherwise (root on Debian).
services:
	bash tests/services/ensure-postgres.sh
	bash tests/services/ensure-chromium.sh

unit: $(STAMP) services
	$(BIN)/pytest --ignore=tests/system

# The QEMU lab (tests/system/README.md): the installed x86 unit booted under
# real systemd, one guest at a time (TCG keeps both cores busy).
system: $(STAMP)
	CHECKPOINT_SYSTEM_TESTS=1 $(BIN)/pytest tests/system -v

# The arm64 smoke (tests/system/lab_arm64.py): not yet in `make test`, its
# cold image takes over an hour of arm64 emulation here.
system-arm64: $(STAMP)
	CHECKPOINT_ARM64_TESTS=1 $(BIN)/pytest tests/system/test_system_smoke_arm64.py -v

test: lint typecheck unit system

bench: $(STAMP)
	$(BIN)/checkpoint-scanner bench verify --json
	$(BIN)/checkpoint-scanner bench verify --format hc1 --json
	$(BIN)/checkpoint-scanner bench revocations --entries 10000000 --json
	$(BIN)/checkpoint-scanner bench decode --corpus ../shared/corpus/zxing-qrcode --json
	$(BIN)/checkpoint-scanner bench frames --json
	$(BIN)/checkpoint-scanner bench display --json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
