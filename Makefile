# Two commands do everything: `make quickstart` and `make test`. Both bootstrap .venv themselves.
SHELL := /bin/bash
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_NO_PROGRESS := 1

.PHONY: bootstrap quickstart test test-all lint format bench bench-peers bench-peers-scale soak clean

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(UV) || { python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	$(UV) sync --frozen --inexact --quiet
	@touch $@

bootstrap: $(VENV)/.synced

quickstart: bootstrap
	$(VENV)/bin/headwater quickstart

lint: bootstrap
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: bootstrap
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

test: lint
	$(VENV)/bin/pytest -m "not slow" --durations=30

test-all: lint
	$(VENV)/bin/pytest

bench: bootstrap
	$(VENV)/bin/python bench/run_all.py

# Headwater against Singer's tap-hubspot, Airbyte's source-hubspot and dlt, each installed from
# PyPI into its own venv under .bench-peers/ (reused on later runs); rewrites the peer section of
# docs/benchmarks.md and docs/benchmarks-peers.png. Unattended, under 30 minutes.
bench-peers: bootstrap
	$(VENV)/bin/python bench/peers/run.py

# Headwater's full load and serve-tree memory at 200k, 500k and 1M contacts (~15 minutes on a
# quiet 2-core machine); rewrites the "Memory at scale" section of docs/benchmarks.md.
bench-peers-scale: bootstrap
	$(VENV)/bin/python bench/peers/run.py --scale 200000 500000 1000000

# 50 flows on minute schedules against the emulator with faults on, for SOAK_MINUTES (30);
# checks no run stuck, no lease leaked, memory flat, every dataset exact; rewrites the soak
# section of docs/reliability.md.
soak: bootstrap
	$(VENV)/bin/python bench/soak.py --write

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
