# Parity Operator — the two commands on a fresh machine are `make up` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY := .venv/bin/python
PARITY := .venv/bin/parity
STATE := .parity
KUBECONFIG_LOCAL := $(CURDIR)/$(STATE)/cluster/kubeconfig
PYTEST_ARGS ?=

.PHONY: help deps up down test test-unit test-integration test-runtime cluster cluster-down operator tilt bench docs lint

help:
	@echo "make up      bring up a cluster (kind with Docker, else the local control plane), CRDs, baselines, operator, sample"
	@echo "make test    install what the tests need, then run the unit, integration, runtime and e2e (real node) tiers"
	@echo "make down    stop the operator and the cluster"
	@echo "make tilt    live dev loop on the operator (Tiltfile)"
	@echo "make bench   print the benchmarks' figures"

deps:
	@bash tools/setup-deps.sh

up: deps
	@bash tools/up.sh

down:
	@bash tools/down.sh

cluster: deps
	@$(PARITY) cluster --state-dir $(STATE)/cluster up

cluster-down:
	@$(PARITY) cluster --state-dir $(STATE)/cluster down

# Unit, integration (real API server) and runtime (real etcd/Patroni/Redis) tests. pytest's
# exit code is passed through untouched: 5 (no tests collected) fails like any other error.
test: deps
	@start=$$(date +%s); \
	$(PY) -m pytest tests $(PYTEST_ARGS); \
	echo "test suite took $$(( $$(date +%s) - start ))s"

test-unit: deps
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: deps
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-runtime: deps
	$(PY) -m pytest tests/runtime $(PYTEST_ARGS)

tilt:
	@bash tools/tilt.sh

bench: deps
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

docs: deps
	$(PARITY) docs crd-reference --write
