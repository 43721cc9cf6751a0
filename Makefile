# Parity Operator — the two commands on a fresh machine are `make up` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY := .venv/bin/python
PARITY := .venv/bin/parity
STATE := .parity
KUBECONFIG_LOCAL := $(CURDIR)/$(STATE)/cluster/kubeconfig
PYTEST_ARGS ?=

.PHONY: help deps up down test test-unit test-integration test-runtime cluster cluster-down operator tilt tilt-ci bench docs lint
.PHONY: diff-staging diff-production validate-parity inspect-cluster inspect-etcd inspect-patroni inspect-redis \
	aggregate-logs observability-up observability-down

# The environment the day-to-day targets below work on, and the cluster: KUBECONFIG as you set
# it, else the one `make up` wrote for the local control plane (whose cluster DNS serves the
# service names `parity inspect` dials from the host).
NS ?= default
ENV_NAME ?= dev
# ENV=path (a ParityEnvironment file) counts only when given on make's command line: many shells
# export an ENV variable of their own (the sh startup file).
ENV_FILE := $(if $(filter command line,$(origin ENV)),$(ENV))
OUTPUT ?= table
BASELINE ?= production
SERVICE ?=
FILTER ?=
SINCE ?=
LEVEL ?=
TAIL ?=
ifeq ($(origin KUBECONFIG),undefined)
ifneq ($(wildcard $(KUBECONFIG_LOCAL)),)
export KUBECONFIG := $(KUBECONFIG_LOCAL)
export PARITY_CLUSTER_DNS ?= 10.96.0.10
endif
endif

help:
	@echo "make up      bring up a cluster (kind with Docker, else the local control plane), CRDs, baselines, operator, sample"
	@echo "make test    install what the tests need, then run the unit, integration, runtime and e2e (real node) tiers"
	@echo "make down    stop the operator and the cluster"
	@echo "make tilt    live dev loop on the operator (Tiltfile)"
	@echo "make tilt-ci tilt ci against a private control plane: passes when the sample is Ready"
	@echo "make bench   print the benchmarks' figures"
	@echo ""
	@echo "Day to day (NS=$(NS) ENV_NAME=$(ENV_NAME); the cluster of KUBECONFIG, else the one make up started):"
	@echo "make diff-staging       the running environment against baselines/staging.yaml (ENV=file.yaml: a file instead)"
	@echo "make diff-production    the same against baselines/production.yaml; OUTPUT=table|json|html|sarif|markdown|..."
	@echo "make validate-parity    CI gate: exit 2 on critical drift against BASELINE=$(BASELINE) (ENV=file.yaml: offline)"
	@echo "make inspect-cluster    leaders, members, lag and quorum of etcd, Patroni and Redis (parity inspect all)"
	@echo "make inspect-etcd       etcd only; inspect-patroni, inspect-redis likewise"
	@echo "make aggregate-logs     every container's logs merged: SERVICE=etcd|postgres|redis|sentinel|observability"
	@echo "                        FILTER=regex SINCE=10m LEVEL=error|warning TAIL=N (parity logs)"
	@echo "make observability-up   enable spec.observability and wait until it is ready; observability-down: remove it"

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

# `tilt ci` against a private control plane: passes only when the sample is Ready (tools/tilt/ci.sh).
tilt-ci: deps
	@bash tools/tilt/ci.sh

bench: deps
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

docs: deps
	$(PARITY) docs crd-reference --write

# ---- day to day: thin wrappers over the parity CLI ---------------------------------------------
# parity diff exits 2 when it shows drift; for the diff-* targets that is the answer, not a
# failure (validate-parity is the gate). 1 (bad input, unreachable cluster) still fails.
define parity_diff
	@code=0; $(PARITY) diff $(if $(ENV_FILE),$(ENV_FILE),-n $(NS) $(ENV_NAME)) --baseline baselines/$(1).yaml -o $(OUTPUT) \
	  || code=$$?; [ $$code -eq 2 ] && code=0; exit $$code
endef

diff-staging:
	$(call parity_diff,staging)

diff-production:
	$(call parity_diff,production)

# Exit 2 on critical drift (make itself then exits 2 as well), 1 on bad input.
validate-parity:
	@$(PARITY) $(if $(ENV_FILE),validate $(ENV_FILE),diff -n $(NS) $(ENV_NAME)) --baseline baselines/$(BASELINE).yaml \
	  --fail-on critical -o $(OUTPUT)

inspect-cluster:
	@$(PARITY) inspect -n $(NS) all $(ENV_NAME)

inspect-etcd:
	@$(PARITY) inspect -n $(NS) etcd $(ENV_NAME)

inspect-patroni:
	@$(PARITY) inspect -n $(NS) patroni $(ENV_NAME)

inspect-redis:
	@$(PARITY) inspect -n $(NS) redis $(ENV_NAME)

# FILTER goes through the environment, so that no quoting in it can break the command line.
aggregate-logs: export PARITY_LOGS_FILTER = $(FILTER)
aggregate-logs:
	@$(PARITY) logs -n $(NS) $(ENV_NAME) $(if $(SERVICE),--component $(SERVICE)) \
	  $(if $(FILTER),--grep "$$PARITY_LOGS_FILTER") $(if $(SINCE),--since $(SINCE)) \
	  $(if $(LEVEL),--level $(LEVEL)) $(if $(TAIL),--tail $(TAIL))

observability-up:
	@$(PARITY) observability up -n $(NS) $(ENV_NAME)

observability-down:
	@$(PARITY) observability down -n $(NS) $(ENV_NAME)
