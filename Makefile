# Developer loop. `make test` is the gate a change must pass; `make demo` runs the local cluster.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
INSTALL_STAMP := var/.install.stamp
# pytest exits 5 when it collected nothing: that, like any failure, fails `make test`.
# --fail-on-skip (tests/conftest.py) makes a skipped test fail the run instead of passing quietly.
# Three workers (pytest-xdist) on two cores, whole modules to each: much of the e2e time is waiting
# on Telegram's rates and on processes starting, which the other workers fill (a fresh clone at
# 40a8fe6 ran the suite in 1,299 s with two, 1,076 s with three); a module's shared fixtures stay
# in one worker. --no-loadscope-reorder keeps the order of tests/conftest.py (the longest modules
# first); by default xdist hands out the modules with the most tests first, which leaves the long
# one-test e2e modules for the end: on 2026-12-02 a fresh clone ran the suite in 1,149 s in this
# order and in 1,371 s in xdist's, the broadcast e2e (182 s) running alone at its tail.
PYTEST_FLAGS ?= --fail-on-skip --durations=15 -n 3 --dist loadfile --no-loadscope-reorder

.PHONY: help install check fmt test coverage chaos demo demo-status demo-down

help:
	@echo "make demo   - install, then start the whole local cluster (python -m devcluster up)"
	@echo "make test   - install, static checks, config gates, then every test under tests/"
	@echo "make coverage - the fast tiers under coverage; fails below COVERAGE_FLOOR (README)"
	@echo "make chaos  - the long fault runs (10 instance kills, a 30 s database outage, ...)"
	@echo "make check  - ruff check, ruff format --check, mypy --strict, lint-imports"
	@echo "make fmt    - format and auto-fix with ruff"
	@echo "make install - system packages and .venv (quick when nothing changed)"
	@echo "make bench  - load benchmark (BENCH_ARGS=--quick for ~2 min); docs/benchmarks.md"

# Re-run the installer when its inputs change or the venv has gone.
install:
	@if [ ! -x $(PYTHON) ]; then rm -f $(INSTALL_STAMP); fi
	@$(MAKE) --no-print-directory $(INSTALL_STAMP)

$(INSTALL_STAMP): scripts/install.sh pyproject.toml uv.lock
	scripts/install.sh
	@mkdir -p $(dir $@)
	@touch $@

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy -p devcluster
	$(BIN)/lint-imports --no-cache

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install
	$(MAKE) --no-print-directory check
	@if [ -f scripts/check-configs.sh ]; then bash scripts/check-configs.sh; \
	else echo "scripts/check-configs.sh not present: no config gates yet"; fi
	$(BIN)/pytest tests $(PYTEST_FLAGS)

# Line and branch coverage of bot/ and workers/ ([tool.coverage] in pyproject.toml) by the tiers
# that run in-process against real servers, without the browser, the e2e fleet and the benchmarks;
# below the floor the target fails. The floor is the measured figure minus about one point
# (README, "Checks"): raise it with the figure, never lower it without the reason in the commit.
COVERAGE_FLOOR := 78.5
COVERAGE_TIERS := tests/unit tests/handlers tests/property tests/contract tests/integration \
	tests/security tests/config
coverage: install
	@mkdir -p var/coverage
	$(BIN)/pytest $(COVERAGE_TIERS) --fail-on-skip -n 2 --dist loadfile --no-loadscope-reorder \
		--cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

# The fault tests of tests/e2e/chaos at full length; `make test` runs them short.
chaos: install
	FOK_CHAOS_ROUNDS=10 FOK_CHAOS_DB_OUTAGE_S=30 FOK_CHAOS_DISK_FULL_S=30 $(BIN)/pytest tests/e2e/chaos -s --fail-on-skip \
		-p no:cacheprovider

demo: install
	$(PYTHON) -m devcluster up

demo-status: install
	$(PYTHON) -m devcluster status

demo-down: install
	$(PYTHON) -m devcluster down

BENCH_ARGS ?= --profile
bench: install
	$(PYTHON) -m bench $(BENCH_ARGS)
