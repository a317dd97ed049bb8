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

# .venv installs requirements-dev.lock (every distribution pinned, sha256-hashed, wheels only; pip and setuptools
# included), then the project itself, editable, with no dependencies and no build isolation (setuptools from the lock).
$(VENV)/.installed: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-index --no-deps --no-build-isolation -e .
	touch $@

# The tools' virtualenvs, each from its requirements-NAME.txt (pinned, not hashed): .venv-sam (the SAM CLI: its
# pins would fight the app's), .venv-scan (checkov: in .venv it would downgrade boto3/botocore/cachetools/packaging),
# .venv-ministack (MiniStack, the emulator of the deploy rehearsal: it pins botocore exactly).
$(VENV)-%/.installed: requirements-%.txt
	python3 -m venv $(@D)
	$(@D)/bin/pip install --quiet --upgrade pip
	$(@D)/bin/pip install --quiet -r $<
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
check: $(VENV)/.installed ## Static checks (scripts/check): ruff check, ruff format --check, mypy (strict for the product code), cfn-lint
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

.PHONY: tune
tune: $(VENV)/.installed ## MemorySize per size in Lambda-sized containers (Docker, after make build): table, plot, picks
	$(PY) -m bench.tune

# ---- SAM ------------------------------------------------------------------------------------
# Hashed locks: the layers install layers/dependencies/requirements.lock and layers/scikit-learn/requirements.lock,
# .venv installs requirements-dev.lock. After editing a requirements.txt of a layer or requirements-dev.txt, run
# `make lock` and commit the locks with it. It uses the uv of the existing .venv (uv itself comes from the dev lock),
# so it never rebuilds .venv first; it creates .venv only where there is none.
# The dev lock: uv resolves requirements-dev.txt for Python 3.13 on Linux (manylinux_2_28) x86_64 and aarch64, wheels
# only; both must give the same file. `-o` keeps the current lock's versions of what requirements-dev.txt leaves open.
DEV_LOCK := requirements-dev.lock
DEV_LOCK_ARGS := pip compile --quiet --python-version 3.13 --only-binary :all: --emit-build-options --generate-hashes \
	--custom-compile-command 'make lock'
.PHONY: lock
lock: ## Regenerate the hashed locks (layers/*/requirements.lock, requirements-dev.lock) from their requirements (uv; network)
	@test -x $(VENV)/bin/uv || $(MAKE) --no-print-directory $(VENV)/.installed
	$(MAKE) --no-print-directory -f layers/dependencies/Makefile lock PYTHON=$(CURDIR)/$(PY) UV=$(CURDIR)/$(VENV)/bin/uv
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  { cp $(DEV_LOCK) "$$tmp/x86_64" 2>/dev/null || true; } && \
	  $(VENV)/bin/uv $(DEV_LOCK_ARGS) --python-platform x86_64-manylinux_2_28 -o "$$tmp/x86_64" requirements-dev.txt && \
	  cp "$$tmp/x86_64" "$$tmp/aarch64" && \
	  $(VENV)/bin/uv $(DEV_LOCK_ARGS) --python-platform aarch64-manylinux_2_28 -o "$$tmp/aarch64" requirements-dev.txt && \
	  { cmp -s "$$tmp/x86_64" "$$tmp/aarch64" || { diff -u "$$tmp/x86_64" "$$tmp/aarch64"; \
	    echo "[lock] FAILED: requirements-dev.txt resolves differently on x86_64 and aarch64"; exit 1; }; } && \
	  cp "$$tmp/x86_64" $(DEV_LOCK) && echo "[lock] $(DEV_LOCK): $$(grep -c '^[a-z0-9].*==' $(DEV_LOCK)) distributions"

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
