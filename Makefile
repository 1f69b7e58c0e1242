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
# real systemd, its scenarios one guest after another.
system: $(STAMP)
	CHECKPOINT_SYSTEM_TESTS=1 $(BIN)/pytest tests/system -v -rA -p no:cacheprovider \
		--ignore=tests/system/test_system_smoke_arm64.py

# The arm64 smoke (tests/system/lab_arm64.py): the project from its aarch64
# wheels on Debian's arm64 kernel, under emulation.
system-arm64: $(STAMP)
	CHECKPOINT_ARM64_TESTS=1 $(BIN)/pytest tests/system/test_system_smoke_arm64.py -v -rA \
		-p no:cacheprovider

# Lint and mypy, then the unit suite, the x86 lab and the arm64 smoke side by
# side: one after another they would take about 27 min warm here (the unit suite
# leaves a core idle), side by side 14.6 min. Each one's output is printed whole
# when it ends.
test: lint typecheck
	$(MAKE) --no-print-directory -j3 --output-sync=target unit system system-arm64

bench: $(STAMP)
	$(BIN)/checkpoint-scanner bench verify --json
	$(BIN)/checkpoint-scanner bench verify --format hc1 --json
	$(BIN)/checkpoint-scanner bench revocations --entries 10000000 --json
	$(BIN)/checkpoint-scanner bench decode --corpus ../shared/corpus/zxing-qrcode --json
	$(BIN)/checkpoint-scanner bench frames --json
	$(BIN)/checkpoint-scanner bench display --json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
