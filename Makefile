# ccm — Equinix Metal cloud controller manager on Deno. `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

DENO := $(shell .ci/deno.sh)
DENO_VERSION := 2.9.6

# Build target: OS and ARCH default to this machine (linux|darwin|windows, amd64|arm64).
OS ?= $(shell uname -s | tr '[:upper:]' '[:lower:]')
ARCH ?= $(shell uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')
BINARY := dist/bin/cloud-provider-equinix-metal-$(OS)-$(ARCH)
RELEASE_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

GIT_HASH ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo "v0.1.0-dev+$(GIT_HASH)")
DOCKERBUILD ?= false
REGISTRY ?= ghcr.io/equinix
IMAGENAME ?= cloud-provider-equinix-metal
IMAGE ?= $(REGISTRY)/$(IMAGENAME)

# Fails with a clear message unless CONFIRM=true and the named variable is set: guards every push.
define require_confirm
	@if [[ "$(CONFIRM)" != "true" ]]; then \
	  echo "$@: refusing to publish without confirmation; run 'make $@ CONFIRM=true $(1)=...'" >&2; exit 1; fi
	@if [[ -z "$($(1))" ]]; then \
	  echo "$@: $(1) is required; run 'make $@ CONFIRM=true $(1)=...'" >&2; exit 1; fi
endef

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

.PHONY: demo
demo: ## Run kube-apiserver, the simulated Metal API and ccm on this machine with live progress (DEMO_TIMEOUT=2m exits by itself)
	@echo "demo: checking the test servers; the first run builds kube-apiserver and etcd from source into ~/.cache/ccm-test-bin (several minutes, once)" >&2
	@bin_dir="$$(test/install_test_servers.sh | tail -n 1)" || { echo "demo: kube-apiserver and etcd could not be installed (see above)" >&2; exit 1; }; \
	  kwok_bin="$${KWOK_BIN:-$$(test/install_kwok.sh | tail -n 1)}" || { echo "demo: kwok could not be installed (see above)" >&2; exit 1; }; \
	  KUBE_APISERVER_BIN="$${KUBE_APISERVER_BIN:-$$bin_dir/kube-apiserver}" ETCD_BIN="$${ETCD_BIN:-$$bin_dir/etcd}" KWOK_BIN="$$kwok_bin" \
	  DEMO_TIMEOUT="$(DEMO_TIMEOUT)" exec $(DENO) run --allow-all test/demo.ts

.PHONY: bench
bench: ## Run the benchmarks in bench/ and append their tables to bench/RESULTS.md (QUICK=1: small sizes, records nothing)
	@bin_dir="$$(test/install_test_servers.sh | tail -n 1)" || { echo "bench: kube-apiserver and etcd could not be installed (see above)" >&2; exit 1; }; \
	  kwok_bin="$${KWOK_BIN:-$$(test/install_kwok.sh | tail -n 1)}" || { echo "bench: kwok could not be installed (see above)" >&2; exit 1; }; \
	  export KUBE_APISERVER_BIN="$${KUBE_APISERVER_BIN:-$$bin_dir/kube-apiserver}" ETCD_BIN="$${ETCD_BIN:-$$bin_dir/etcd}" KWOK_BIN="$$kwok_bin"; \
	  if [[ "$(QUICK)" == 1 ]]; then args="--quick --no-record"; fake_args="--devices 1000 --seconds 2 --no-record"; \
	  else args=""; fake_args=""; fi; \
	  for script in node_init service_lb steady_state memory; do \
	    $(DENO) run --allow-all bench/$$script.ts $$args || exit 1; \
	  done; \
	  $(DENO) run --allow-all bench/fake_api.ts $$fake_args

.PHONY: docs
docs: ## Regenerate the README's configuration table from metal/settings.ts
	$(DENO) run --allow-read=README.md --allow-write=README.md metal/settings_docs.ts --write
	$(DENO) fmt README.md

.PHONY: build
build: ## Compile dist/bin/cloud-provider-equinix-metal-<os>-<arch> (OS=, ARCH=, DENORT_BIN=, DOCKERBUILD=true)
ifeq ($(DOCKERBUILD),true)
	@command -v docker >/dev/null || { echo "build: DOCKERBUILD=true needs docker, which is not installed" >&2; exit 1; }
	docker run --rm --user "$$(id -u):$$(id -g)" -v "$(CURDIR):/src" -w /src \
	  -e DENO_DIR=/src/.tools/deno-dir -e VERSION="$(VERSION)" -e DENORT_BIN="$(DENORT_BIN)" \
	  denoland/deno:$(DENO_VERSION) bash .ci/build.sh "$(OS)" "$(ARCH)"
else
	VERSION="$(VERSION)" DENORT_BIN="$(DENORT_BIN)" .ci/build.sh "$(OS)" "$(ARCH)"
endif

.PHONY: image
image: ## Build the container image <IMAGE>:latest (IMAGE=ghcr.io/equinix/cloud-provider-equinix-metal)
	@command -v docker >/dev/null || { echo "image: docker is not installed; install it or use a machine with a Docker engine" >&2; exit 1; }
	docker build --build-arg VERSION="$(VERSION)" --build-arg DENO_VERSION=$(DENO_VERSION) -t $(IMAGE):latest .

.PHONY: ci
ci: ## Build the binary, run all tests, build the image
	$(MAKE) build
	$(MAKE) test
	$(MAKE) image

.PHONY: cd
cd: ## Tag the image as :<BRANCH_NAME> and :<git hash> and push (needs CONFIRM=true BRANCH_NAME=...)
	$(call require_confirm,BRANCH_NAME)
	docker tag $(IMAGE):latest $(IMAGE):$(BRANCH_NAME)
	docker tag $(IMAGE):latest $(IMAGE):$(GIT_HASH)
	docker push $(IMAGE):$(BRANCH_NAME)
	docker push $(IMAGE):$(GIT_HASH)

.PHONY: release
release: ## Build all five binaries and dist/bin/SHA256SUMS (needs CONFIRM=true RELEASE_TAG=v...)
	$(call require_confirm,RELEASE_TAG)
	rm -rf dist/bin
	@set -e; for target in $(RELEASE_TARGETS); do \
	  $(MAKE) --no-print-directory build OS="$${target%/*}" ARCH="$${target#*/}" VERSION="$(RELEASE_TAG)"; \
	done
	cd dist/bin && sha256sum cloud-provider-equinix-metal-* > SHA256SUMS
	@echo "release: dist/bin holds the $(RELEASE_TAG) binaries and SHA256SUMS"
