# The two commands of the README:
#   make demo   - from nothing to the trial report (embedded PostgreSQL, simulated trial, nightly flow)
#   make test   - the whole test suite against a real PostgreSQL (what CI runs)
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: setup demo test lint clean-state

setup:
	@./scripts/ensure-system-deps.sh
	@uv sync --frozen --extra dev --quiet

demo: setup
	uv run cfz demo

test: setup
	CFZ_NEED_BROWSER=1 ./scripts/ensure-system-deps.sh
	uv run ruff check src flows tests bench
	uv run pytest -n 2 --dist loadfile

lint: setup
	uv run ruff check src flows tests bench
	uv run ruff format --check src flows tests bench || true

clean-state:
	-uv run cfz db stop
	rm -rf .cfz out
