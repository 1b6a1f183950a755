# Bedrock Gateway. `make local` serves the API offline; `make test` runs every check. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export SAM_CLI_TELEMETRY := 0
export PATH := $(CURDIR)/.venv/bin:$(PATH)

VENV_PY := .venv/bin/python
SAM := $(CURDIR)/.venv-sam/bin/sam
STACK_NAME ?= bedrock-gateway
TOKEN_PARAMETER ?= /bedrock-gateway/api-token
SAM_ENV ?= default

.PHONY: help setup local test lint security validate unit build integration-local openapi token api-url deploy bench bench-local load test-docker clean clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## create .venv and .venv-sam from the pinned requirements (no-op when current)
	@bash scripts/bootstrap.sh

local: setup ## run the whole API on http://127.0.0.1:3000 with local SSM and Bedrock stand-ins
	@$(VENV_PY) local/run.py --sam $(SAM)

test: setup validate lint security unit build integration-local ## everything CI runs
	@echo "==> all checks passed"

validate: setup ## sam validate --lint (offline)
	@echo "==> sam validate --lint"
	@$(SAM) validate --lint

security: setup ## checkov over template.yaml: every skipped check is justified next to its resource
	@echo "==> checkov"
	@.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

lint: setup ## ruff check and format check
	@echo "==> ruff"
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

unit: setup ## unit tests with coverage of functions/ (fails under 90 %)
	@echo "==> unit tests"
	@$(VENV_PY) -m pytest tests/unit -q --cov=functions --cov-report=term-missing:skip-covered --cov-fail-under=90

build: setup ## sam build (arm64, as deployed), then precompile bytecode (Lambda's /var/task is read-only)
	@echo "==> sam build"
	@$(SAM) build --cached --parallel
	@$(VENV_PY) scripts/precompile.py .aws-sam/build

integration-local: setup ## tests/integration against the local emulation (started and stopped here)
	@echo "==> integration tests against the local API (Docker-free emulator)"
	@$(VENV_PY) local/run.py --sam $(SAM) --mode no-docker --exec $(VENV_PY) -m pytest tests/integration -q -p no:cacheprovider

openapi: setup ## regenerate docs/openapi.json from the routes
	@$(VENV_PY) scripts/openapi.py > docs/openapi.json && echo "==> docs/openapi.json updated"

token: setup ## create or rotate the API token in SSM (TOKEN_PARAMETER=..., AWS credentials needed)
	@$(VENV_PY) scripts/api_token.py --parameter $(TOKEN_PARAMETER)

api-url: setup ## print the deployed ApiUrl (STACK_NAME=...)
	@$(VENV_PY) scripts/stack.py --stack-name $(STACK_NAME) --output ApiUrl

deploy: build ## sam deploy with samconfig.toml's SAM_ENV (default|prod)
	@$(SAM) deploy --config-env $(SAM_ENV)

bench-local: setup ## p50/p95 of 200 warm requests through the local Docker-free API
	@$(VENV_PY) local/run.py --sam $(SAM) --mode no-docker --exec $(VENV_PY) bench/local_latency.py

test-docker: setup ## real sam local invoke/start-api in Docker (starts dockerd and builds the base image if needed)
	@bash local/docker/test.sh

load: setup ## 2,000 requests at concurrency 20 through the local Docker-free API: errors, latency, worker memory
	@$(VENV_PY) local/run.py --sam $(SAM) --mode no-docker --exec $(VENV_PY) bench/load.py

bench: build ## cold start, warm per-request, SSM calls, package size vs a bare baseline (BENCH_FAST=1: quick)
	@rm -f .local/e2e.json; mkdir -p .local
	@STANDIN_EMBED_DELAY_MS=50 BENCH_REQUESTS=$(if $(BENCH_FAST),50,200) BENCH_E2E_OUT=$(CURDIR)/.local/e2e.json $(VENV_PY) local/run.py --sam $(SAM) --mode no-docker --exec $(VENV_PY) bench/local_latency.py
	@BENCH_E2E_OUT=$(CURDIR)/.local/e2e.json $(VENV_PY) bench/bench.py

clean: ## remove build output and local logs
	rm -rf .aws-sam .local .pytest_cache .coverage

clean-venv: ## remove the virtualenvs (next make recreates them)
	rm -rf .venv .venv-sam .venv-checkov .local/lambda-runtime
