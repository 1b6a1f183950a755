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
LOCAL_MODE ?= auto
# sam build installs the functions' dependencies from the wheelhouse `make setup` fills: no network needed after it
OFFLINE_PIP := PIP_NO_INDEX=1 PIP_FIND_LINKS=$(CURDIR)/.local/wheelhouse
# make local's settings reach local/run.py whether given to make (make local LOCAL_API_PORT=3100) or exported
export LOCAL_MODE LOCAL_API_PORT LOCAL_AWS_PORT LOCAL_BEDROCK_PORT LOCAL_API_TOKEN

.PHONY: help setup local test lint security validate unit build integration-local test-lifecycle test-offline openapi token keys api-url deploy deploy-built integration-stage pipeline-check bench bench-local load test-docker clean clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## create .venv and .venv-sam from the pinned requirements (no-op when current)
	@bash scripts/bootstrap.sh

local: setup ## the whole API on http://127.0.0.1:3000 with local SSM and Bedrock (LOCAL_MODE=auto|docker|no-docker)
	@$(VENV_PY) local/run.py --sam $(SAM) --mode $(LOCAL_MODE)

test: setup validate lint security pipeline-check unit build integration-local test-lifecycle ## lint, checks, unit, build, integration, lifecycle
	@echo "==> all checks passed"

validate: setup ## sam validate --lint (offline)
	@echo "==> sam validate --lint"
	@$(SAM) validate --lint

security: setup ## checkov over template.yaml, also with streaming and a guardrail on (skips are justified inline)
	@echo "==> checkov (defaults, then with EnableStreaming and a guardrail)"
	@.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
	@mkdir -p .local/checkov && $(VENV_PY) scripts/template_variant.py .local/checkov/template.yaml \
	  EnableStreaming=true GuardrailId=abc123 KeyGuardrailArns=arn:aws:bedrock:us-east-1:111122223333:guardrail/x1
	@.venv-checkov/bin/checkov -f .local/checkov/template.yaml --framework cloudformation --compact --quiet --skip-download

lint: setup ## ruff check and format check
	@echo "==> ruff"
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

unit: setup ## unit tests with coverage of functions/ (fails under 90 %)
	@echo "==> unit tests"
	@$(VENV_PY) -m pytest tests/unit -q --cov=functions --cov-report=term-missing:skip-covered --cov-fail-under=90

build: setup ## sam build (arm64, as deployed), then precompile bytecode (Lambda's /var/task is read-only)
	@echo "==> sam build"
	@$(OFFLINE_PIP) $(SAM) build --cached --parallel
	@$(VENV_PY) scripts/precompile.py .aws-sam/build

integration-local: setup ## tests/integration against the local emulation (started and stopped here)
	@echo "==> integration tests against the local API (Docker-free emulator)"
	@$(VENV_PY) local/run.py --sam $(SAM) --mode no-docker --exec $(VENV_PY) -m pytest tests/integration -q -p no:cacheprovider

test-lifecycle: setup ## make local under Ctrl-C, SIGTERM, SIGHUP, a closed terminal and kill -9: nothing left behind
	@echo "==> make local lifecycle (real make local, in a pseudo-terminal, on free ports)"
	@$(VENV_PY) -m pytest tests/lifecycle -q -p no:cacheprovider

test-offline: setup ## fresh local build + integration suite with no network at all (needs root for unshare -n)
	@echo "==> offline: a fresh sam build from .local/wheelhouse and the integration suite, inside unshare -n"
	@rm -rf .aws-sam/local-build .aws-sam/local-cache
	@unshare -n bash -c 'ip link set lo up && $(MAKE) -s integration-local' || { \
	  echo "  next: run as root (unshare -n needs it), and run 'make setup' with network first" >&2; exit 2; }

openapi: setup ## regenerate docs/openapi.json from the routes
	@$(VENV_PY) scripts/openapi.py > docs/openapi.json && echo "==> docs/openapi.json updated"

token: setup ## create, rotate or remove API tokens: ARGS="--local --rotate ID" (see scripts/api_token.py --help)
	@$(VENV_PY) scripts/api_token.py --parameter $(TOKEN_PARAMETER) $(ARGS)

keys: setup ## managed keys: ARGS="--local create team-a --rpm 5" (or --stack-name NAME; scripts/keys.py --help)
	@$(VENV_PY) scripts/keys.py $(ARGS)

api-url: setup ## print the deployed ApiUrl (STACK_NAME=...)
	@$(VENV_PY) scripts/stack.py --stack-name $(STACK_NAME) --output ApiUrl

stream-url: setup ## print the deployed StreamingApiUrl (EnableStreaming=true; STACK_NAME=...)
	@$(VENV_PY) scripts/stack.py --stack-name $(STACK_NAME) --output StreamingApiUrl

deploy: build ## sam deploy with samconfig.toml's SAM_ENV (default|dev|prod)
	@$(SAM) deploy --config-env $(SAM_ENV)

deploy-built: setup ## the pipeline's deploy: the existing .aws-sam/build to SAM_ENV (artifacts: env SAM_ARTIFACTS_BUCKET)
	@test -f .aws-sam/build/template.yaml || { echo "ERROR: no .aws-sam/build; next: make build" >&2; exit 2; }
	@test -n "$$SAM_ARTIFACTS_BUCKET" || { echo "ERROR: SAM_ARTIFACTS_BUCKET is not set; next: the pipeline stack's ArtifactsBucketName output" >&2; exit 2; }
	@$(SAM) deploy --config-env $(SAM_ENV) --template-file .aws-sam/build/template.yaml --s3-bucket "$$SAM_ARTIFACTS_BUCKET" \
	  --no-resolve-s3 --no-confirm-changeset --no-fail-on-empty-changeset

integration-stage: setup ## tests/integration against a deployed stack (STACK_NAME=...; its ApiUrl output and SSM token)
	@STACK_NAME=$(STACK_NAME) $(VENV_PY) -m pytest tests/integration -q -p no:cacheprovider

pipeline-check: setup ## the GitHub workflow against GitHub's schema, zizmor, and the OIDC role template (cfn-lint, checkov)
	@echo "==> workflows: schema, zizmor; pipeline/oidc-role.yaml: cfn-lint, checkov"
	@.venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@.venv/bin/zizmor --offline --quiet .github/workflows/
	@.venv-sam/bin/cfn-lint pipeline/oidc-role.yaml
	@.venv-checkov/bin/checkov -f pipeline/oidc-role.yaml --framework cloudformation --compact --quiet --skip-download

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
	@LOCAL_BEDROCK_TOKEN_DELAY_MS=50 LOCAL_BEDROCK_READ_TIMEOUT=10 $(VENV_PY) local/run.py --sam $(SAM) --mode no-docker --exec $(VENV_PY) bench/ttft.py

clean: ## remove build output and local logs
	rm -rf .aws-sam .local .pytest_cache .coverage

clean-venv: ## remove the virtualenvs (next make recreates them)
	rm -rf .venv .venv-sam .venv-checkov .local/lambda-runtime .local/wheelhouse
