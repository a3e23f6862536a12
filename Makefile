# The two commands of the README:
#   make demo   - from nothing to the trial report (embedded PostgreSQL, simulated trial, nightly flow)
#   make test   - the whole test suite against a real PostgreSQL (what CI runs)
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: setup demo test lint lint-python lint-sql test-fast clean-state

# --compile-bytecode: write every dependency's .pyc once at install. Machines that set
# PYTHONDONTWRITEBYTECODE=1 (this project's CI and dev machines do) never cache bytecode, so every
# process compiled GX, dbt, MLflow and Prefect from source again: 10-16 s of CPU per process
# start. The project's own modules are compiled too (stale .pyc files are ignored by Python, which
# checks the source's timestamp). Only here, not as [tool.uv] compile-bytecode in pyproject.toml:
# that made every `uv run` re-check all 15,000 files (0.6-0.9 s per call instead of 0.1 s).
setup:
	@./scripts/ensure-system-deps.sh
	@uv sync --frozen --extra dev --quiet --compile-bytecode
	@uv run python -m compileall -q src flows >/dev/null

demo: setup
	uv run cfz demo

# ruff first (seconds: a style slip stops it at once); then the suite, with sqlfluff over every
# dbt model running beside it (scripts/test-suite.sh: it fills the CPU the two test workers
# leave idle, where before it took 1-1.5 quiet minutes, 143 s of CPU, ahead of the tests). The
# embedded PostgreSQL is started here, once, before both need it.
test: setup lint-python
	CFZ_NEED_BROWSER=1 ./scripts/ensure-system-deps.sh
	@uv run cfz db start >/dev/null
	./scripts/test-suite.sh

# the quick tier: everything but the modules marked slow (make test runs them all)
test-fast: setup
	uv run pytest -n 2 --dist loadfile -m "not slow"

# ruff (lint + format) on Python; sqlfluff on the dbt models. sqlfluff's dbt templater compiles
# each model against the warehouse, so the embedded PostgreSQL is started first.
lint: lint-python lint-sql

lint-python: setup
	uv run ruff check src flows tests bench
	uv run ruff format --check src flows tests bench

lint-sql: setup
	@uv run cfz db start >/dev/null
	eval "$$(uv run cfz db env)" && uv run sqlfluff lint dbt/models --processes 2

clean-state:
	-uv run cfz db stop
	rm -rf .cfz out
