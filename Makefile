# mailport — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda's runtime is python3.12 (template.yaml); develop on the same minor version.
# The first interpreter that really runs 3.12+ (a pyenv shim may exist without its version).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3 python3.13 python3; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
SCAN_VENV := .venv-scan
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help run test lint typecheck pytest deps system-deps system-deps-mail system-deps-browser validate lock build deploy clean bench api asl

help:
	@echo "make run    start mailport locally on http://127.0.0.1:8000 (ARGS='--fresh --poll-every 30s --port 8001')"
	@echo "make test   lint, type-check and run every test tier (installs what it needs)"
	@echo "make validate   cfn-lint + sam validate --lint + ASL validation"
	@echo "make api   rewrite the API Gateway definition in template.yaml and functions/api/openapi.json from the routes"
	@echo "make asl   rewrite infra/statemachines/migration.asl.json from migration_asl.py"
	@echo "make build / make deploy   sam build / sam deploy --guided (needs AWS credentials)"
	@echo "make bench   every benchmark in bench/, then the charts and tables (bench/README.md)"

$(VENV)/.installed: requirements/dev.txt pyproject.toml layers/core/pyproject.toml
	@[ -n "$(PYTHON)" ] || { echo "mailport needs Python 3.12+ (the Lambda runtime's version): install python3.12 or set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e layers/core -e .
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
	@touch $@

$(SCAN_VENV)/.installed: requirements/scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/scan.txt
	@touch $@

infra/node_modules/.installed: infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund --loglevel=error
	@touch $@

# Dovecot (IMAP/POP3): Debian's packages; the tests and `make run`'s demo mail server start a
# private instance.
system-deps-mail:
	@command -v dovecot >/dev/null && command -v doveadm >/dev/null || { \
	  echo "installing dovecot-imapd dovecot-pop3d (apt)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q dovecot-imapd dovecot-pop3d; }

# Chromium and a CJK font for the browser tier (tests/browser; Japanese renders as boxes without it).
system-deps-browser:
	@command -v chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
	  echo "installing chromium fonts-noto-cjk (apt)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-noto-cjk; }

system-deps: system-deps-mail system-deps-browser

deps: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed infra/node_modules/.installed system-deps

# The demo mail server needs Dovecot; --no-demo-mail runs without it (nothing installed).
run: $(VENV)/.installed $(if $(findstring --no-demo-mail,$(ARGS)),,system-deps-mail)
	$(PY) -m mailport_local run $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy layers/core/mailport infra/local/mailport_local cli/mailport_cli bench
	$(VENV)/bin/mypy infra/api_definition.py infra/openapi_document.py infra/statemachines/migration_asl.py
	MYPYPATH=functions/api $(VENV)/bin/mypy functions/api/api_contract.py functions/api/api_models.py functions/api/api_models_import.py functions/api/api_models_reading.py \
	  functions/api/api_inputs.py functions/api/api_operations.py functions/api/api_operations_import.py \
	  functions/api/api_views.py functions/api/api_views_reading.py functions/api/api_http.py functions/api/api_routes_*.py \
	  functions/api/api_validation.py functions/api/mailport_api.py
	$(VENV)/bin/mypy functions/eml_ingest/eml_ingest.py \
	  functions/pop_dispatch/pop_dispatch.py functions/pop_fetch/pop_fetch.py \
	  functions/migration_worker/migration_worker.py functions/migration_scheduler/migration_scheduler.py

pytest: deps
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# ApiFunction's API Gateway definition in template.yaml and the public OpenAPI document
# functions/api/openapi.json, from the Chalice routes and the shapes and operations in
# functions/api/api_*.py
# (tests/unit/test_api_definition.py and test_openapi_document.py fail until they are current).
api: $(VENV)/.installed
	$(PY) -m infra.api_definition --write
	$(PY) -m infra.openapi_document --write

asl: $(VENV)/.installed
	$(PY) infra/statemachines/migration_asl.py

validate: $(SAM_VENV)/.installed $(SCAN_VENV)/.installed infra/node_modules/.installed
	$(PY) -m pytest -q tests/integration/test_template_checks.py tests/integration/test_template_scan.py

# Every benchmark, one after the other (about 20 minutes on 2 cores), then the charts and the
# READMEs' tables from their results. BENCH_RUN ties the result files of one run together.
# `python -m bench.report` alone redraws the charts from bench/results/*.json.
BENCH_ACCOUNTS ?= 100000
bench: deps
	@command -v offlineimap >/dev/null || { echo "installing offlineimap3 (apt)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q offlineimap3; }
	export BENCH_RUN=$$(date -u +%Y%m%dT%H%M%SZ) && \
	$(PY) -m bench.importtime && \
	$(PY) -m bench.package_size && \
	$(PY) -m bench.ingest && \
	$(PY) -m bench.pop3 --accounts $(BENCH_ACCOUNTS) && \
	$(PY) -m bench.pop_batch && \
	$(PY) -m bench.pop_sessions && \
	$(PY) -m bench.index_writes && \
	$(PY) -m bench.poll_profile && \
	$(PY) -m bench.imap && \
	$(PY) -m bench.plan_items && \
	$(PY) -m bench.big_mailbox && \
	$(PY) -m bench.report

lock:
	$(PYTHON) -m venv /tmp/mailport-lock && /tmp/mailport-lock/bin/pip install -q -r requirements/dev.in
	{ head -2 requirements/dev.txt; /tmp/mailport-lock/bin/pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)=='; } > requirements/dev.txt.new
	mv requirements/dev.txt.new requirements/dev.txt

# SAM looks for the runtime's interpreter (python3.12) on PATH; a pyenv shim won't do.
PYTHON_HOME = $(shell $(PYTHON) -c 'import sys; print(sys.base_prefix)' 2>/dev/null)

build: $(SAM_VENV)/.installed
	PATH="$(PYTHON_HOME)/bin:$$PATH" $(SAM_VENV)/bin/sam build
	@# Lambda's code is read-only: without .pyc files every cold start compiles every module
	@# (1.1-1.5 s per handler, bench/importtime.py). unchecked-hash: valid whatever the files'
	@# times are once unzipped. Same minor version as the runtime (python3.12).
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) $(SAM_VENV) infra/node_modules .aws-sam .mypy_cache .ruff_cache
