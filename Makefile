# The two commands of the README:
#   make demo   - from nothing to the trial report (embedded PostgreSQL, simulated trial, nightly flow)
#   make test   - the whole test suite against a real PostgreSQL (what CI runs)
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: setup demo test lint test-fast clean-state

setup:
	@./scripts/ensure-system-deps.sh
	@uv sync --frozen --extra dev --quiet

demo: setup
	uv run cfz demo

test: setup lint
	CFZ_NEED_BROWSER=1 ./scripts/ensure-system-deps.sh
	uv run pytest -n 2 --dist loadfile

# the quick tier: everything but the modules marked slow (make test runs them all)
test-fast: setup
	uv run pytest -n 2 --dist loadfile -m "not slow"

# ruff (lint + format) on Python; sqlfluff on the dbt models. sqlfluff's dbt templater compiles
# each model against the warehouse, so the embedded PostgreSQL is started first.
lint: setup
	uv run ruff check src flows tests bench
	uv run ruff format --check src flows tests bench
	@uv run cfz db start >/dev/null
	eval "$$(uv run cfz db env)" && uv run sqlfluff lint dbt/models --processes 2

clean-state:
	-uv run cfz db stop
	rm -rf .cfz out
