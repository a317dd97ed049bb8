# Everything a developer runs, in one place. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 is the Lambda runtime's version; fall back to python3 on machines without it.
PYTHON ?= $(shell command -v python3.13 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SCAN_VENV := .venv-scan
MINISTACK_VENV := .venv-ministack
MODELS_DIR := layers/models/models
PYTEST_ARGS ?=

.PHONY: help
help: ## List targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/dependencies/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet -e .
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $@

# checkov has its own virtualenv: in .venv it would downgrade boto3/botocore/cachetools/packaging.
$(SCAN_VENV)/.installed: requirements-scan.txt
	python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/pip install --quiet -r requirements-scan.txt
	touch $@

# MiniStack (the emulator of the deploy rehearsal) has its own virtualenv: it pins botocore exactly.
$(MINISTACK_VENV)/.installed: requirements-ministack.txt
	python3 -m venv $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/pip install --quiet --upgrade pip
	$(MINISTACK_VENV)/bin/pip install --quiet -r requirements-ministack.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed $(MINISTACK_VENV)/.installed ## Create the virtualenvs (app, SAM CLI, scanner, MiniStack)

.PHONY: run
run: $(VENV)/.installed ## Run the service locally on http://127.0.0.1:8000 (in-process cache; no Docker, no Redis)
	MODELS_DIR=$(CURDIR)/$(MODELS_DIR) POWERTOOLS_TRACE_DISABLED=true $(PY) -m serving.local

.PHONY: test
test: venv ## Run the whole test suite (unit, Redis, moto, SAM end-to-end)
	PATH=$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(SAM_VENV)/bin:$$PATH $(PY) -m pytest $(PYTEST_ARGS)

.PHONY: check
check: $(VENV)/.installed ## Static checks (scripts/check): ruff check, ruff format --check, mypy --strict, cfn-lint
	scripts/check

.PHONY: lint
lint: check ## Alias of check

.PHONY: scan
scan: $(VENV)/.installed $(SCAN_VENV)/.installed ## Security scan of template.yaml: cfn-lint + checkov (offline; skips need a comment)
	$(VENV)/bin/cfn-lint template.yaml
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(SCAN_VENV)/bin/checkov -f template.yaml --framework cloudformation \
		--skip-download --compact --quiet

.PHONY: models
models: $(VENV)/.installed ## Train the model versions that are missing (never overwrites one)
	$(PY) -m training train

.PHONY: bench
bench: $(VENV)/.installed ## Benchmarks: model load/predict, warm path vs floors, cold start, load, sam local (Docker); writes bench/results/
	$(PY) -m training bench
	$(PY) bench/run.py

# ---- SAM ------------------------------------------------------------------------------------
# The layers install hashed locks (layers/dependencies/requirements.lock, layers/scikit-learn/requirements.lock):
# after editing a layer's requirements.txt, run `make lock` and commit the locks with it.
.PHONY: lock
lock: $(VENV)/.installed ## Regenerate the layers' hashed locks (layers/*/requirements.lock) from their requirements.txt (uv; network)
	$(MAKE) --no-print-directory -f layers/dependencies/Makefile lock PYTHON=$(CURDIR)/$(PY) UV=$(CURDIR)/$(VENV)/bin/uv

SAM_ENV := PATH=$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(SAM_VENV)/bin:$$PATH SAM_CLI_TELEMETRY=0

.PHONY: build
build: venv ## sam build (host build: python3.13 from .venv; layers via their Makefiles) + size report (both deployments)
	$(SAM_ENV) sam build
	bash local/size-report.sh

.PHONY: deploy
deploy: build ## sam deploy the dev stack (samconfig [default]; CONFIG_ENV=prod for prod); CodeDeploy canaries `live`
	$(SAM_ENV) sam deploy $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV))

.PHONY: sync
sync: venv ## sam sync --watch to a stack of its own (skips CodeDeploy: never the deploy stack)
	$(SAM_ENV) sam sync

.PHONY: logs
logs: venv ## Tail the function's logs (one JSON line per request; CONFIG_ENV=prod for prod)
	$(SAM_ENV) sam logs $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV))

.PHONY: validate
validate: venv ## sam validate --lint and cfn-lint
	$(SAM_ENV) sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml

.PHONY: sam-local
sam-local: venv ## sam build, Redis on a docker network, sam local start-api (warm) on :3000
	$(SAM_ENV) bash local/sam-local.sh

.PHONY: standin-image
standin-image: ## Build the offline stand-in Lambda python3.13 + Redis images (no registry needed)
	bash local/start-docker.sh
	bash local/build-standin-image.sh

.PHONY: size
size: ## Unzipped function + layers against Lambda's 250 MB, with and without the scikit-learn layer (after make build)
	bash local/size-report.sh

.PHONY: rehearsal
rehearsal: venv ## Local rehearsal of an alias rollout: moto + sam local start-lambda per version + gateway
	$(SAM_ENV) $(PY) -m local.rehearsal up --build

.PHONY: deploy-rehearsal
deploy-rehearsal: venv ## Real sam deploy of template.yaml to MiniStack on this machine: create, code change, config change, delete (Docker)
	$(SAM_ENV) $(PY) -m pytest tests/e2e/test_deploy_rehearsal.py -s $(PYTEST_ARGS)

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtualenvs)
	rm -rf .aws-sam .pytest_cache .ruff_cache .hypothesis bench/results
