# Two commands matter:  `make run`  (the whole service locally)  and  `make test`  (every check).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv/bin
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help bootstrap system-deps layer-requirements run test lint typecheck template build deploy unit integration infra e2e browser bench soak openapi clean

help:
	@echo "make run        start the devstack (AWS on loopback, API Gateway/SQS/Lambda emulation, Autotask simulator, demo tenant)"
	@echo "make test       every check: lint, types, template (sam validate --lint, cfn-lint, sam build), unit, integration, infra, e2e"
	@echo "make bench      benchmarks (ratios against baselines measured in the same run)"
	@echo "make soak       the long soak test with fault injection"
	@echo "make deploy     build and deploy to the AWS account of your credentials (samconfig.toml; STACK=, REGION=, GUIDED=1)"

bootstrap:
	@./devstack/bootstrap.sh

# Debian packages the tests need (headless Chromium for the settings-page browser test).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: bootstrap
	$(VENV)/python -m devstack

test: bootstrap system-deps lint typecheck template build
	$(VENV)/python -m pytest -q -p no:cacheprovider tests

lint: bootstrap
	$(VENV)/ruff check .
	$(VENV)/ruff format --check layers functions cli devstack tests bench

# Each function folder is its own import root (every one has an app.py), so each is checked on its own, strict.
# Two Powertools typing gaps are not ours to fix: its decorators (logger/tracer/exception_handler) and a few
# constructors/methods (Router(), append_context) are unannotated, so those two codes are off for functions/.
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
typecheck: bootstrap
	$(VENV)/mypy layers/core/helpdesk cli/helpdesk_cli tests/unit/dispatch/fakes.py
	@set -e; for f in $(FUNCTIONS); do \
	  echo "mypy --strict functions/$$f"; \
	  MYPYPATH=functions/$$f:layers/core $(VENV)/mypy --strict --explicit-package-bases \
	    --disable-error-code untyped-decorator --disable-error-code no-untyped-call functions/$$f/*.py; \
	done

template: bootstrap
	$(VENV)/sam validate --lint --template template.yaml
	$(VENV)/cfn-lint template.yaml

build: bootstrap
	PATH="$$(cat .tools/python312-bin):$$PATH" $(VENV)/sam build --template template.yaml --build-dir .aws-sam/build

# Deploy with samconfig.toml (stack "helpdesk", the template's default parameters, the change set shown before it
# is applied). The region is your AWS profile's unless REGION= is given (this Makefile's us-east-1 default for
# local work is not passed on). docs/operations.md "Deploy".
DEPLOY_ENV := $(if $(filter file,$(origin AWS_DEFAULT_REGION)),env -u AWS_DEFAULT_REGION,)
deploy: build
	$(DEPLOY_ENV) $(VENV)/sam deploy $(if $(STACK),--stack-name $(STACK)) $(if $(REGION),--region $(REGION)) $(if $(GUIDED),--guided)

unit: bootstrap
	$(VENV)/python -m pytest -q tests/unit

integration: bootstrap
	$(VENV)/python -m pytest -q tests/integration

infra: bootstrap
	$(VENV)/python -m pytest -q tests/infra

e2e: bootstrap
	$(VENV)/python -m pytest -q tests/e2e

browser: bootstrap system-deps
	$(VENV)/python -m pytest -q tests/browser

bench: bootstrap
	$(VENV)/python -m bench

# The long soak (N=20 per tenant, a 10x flood, a 2-minute Autotask outage); the short one runs in `make test`.
soak: bootstrap
	HELPDESK_SOAK=1 $(VENV)/python -m pytest -q -s -p no:cacheprovider --timeout 1800 tests/e2e/test_soak.py tests/e2e/test_ticket_flow.py -k "soak or faults"

# The layer's requirements.txt is generated from uv.lock (tests/infra checks it is current).
layer-requirements: bootstrap
	.tools/bin/uv export --frozen --no-dev --no-hashes --no-emit-project --no-header --no-annotate -o layers/core/requirements.txt

clean:
	rm -rf .aws-sam .devstack .pytest_cache .mypy_cache .ruff_cache
