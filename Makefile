# ccm — Equinix Metal cloud controller manager on Deno. `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

DENO := $(shell .ci/deno.sh)

.PHONY: help
help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

.PHONY: test
test: ## Run all tests (installs Deno and the test servers when missing); ends with "N passed, N failed"
	@.ci/test.sh

.PHONY: check
check: ## Type-check every module
	$(DENO) check main.ts '**/*.ts'

.PHONY: lint
lint: ## Lint
	$(DENO) lint

.PHONY: fmt
fmt: ## Format in place
	$(DENO) fmt

.PHONY: fake-api
fake-api: ## Run the simulated Equinix Metal API on 127.0.0.1:8080
	$(DENO) run --allow-all main.ts fake-api
