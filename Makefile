# Everything a developer runs, in one place. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 is the Lambda runtime's version; fall back to python3 on machines without it.
PYTHON ?= $(shell command -v python3.13 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
MODELS_DIR := layers/models/models
PYTEST_ARGS ?=

.PHONY: help
help: ## List targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/dependencies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed $(SAM_VENV)/.installed ## Create the virtualenvs (app + SAM CLI)

.PHONY: run
run: $(VENV)/.installed ## Run the service locally on http://127.0.0.1:8000 (in-process cache; no Docker, no Redis)
	cd functions/inference && MODELS_DIR=$(CURDIR)/$(MODELS_DIR) POWERTOOLS_TRACE_DISABLED=true \
		$(CURDIR)/$(PY) -m serving.local

.PHONY: test
test: venv ## Run the whole test suite (unit, Redis, moto, SAM end-to-end)
	PATH=$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(SAM_VENV)/bin:$$PATH $(PY) -m pytest $(PYTEST_ARGS)

.PHONY: lint
lint: $(VENV)/.installed ## ruff, cfn-lint and sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml

.PHONY: models
models: $(VENV)/.installed ## Train the model versions that are missing (never overwrites one)
	$(PY) -m training train

.PHONY: bench
bench: $(VENV)/.installed ## Benchmarks: model load/predict, warm handler latency vs floors
	$(PY) -m training bench
	PYTHONPATH=functions/inference:. $(PY) bench/handler_latency.py
