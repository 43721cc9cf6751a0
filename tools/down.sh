#!/usr/bin/env bash
# `make down`: stop the operator and the cluster that `make up` started.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.parity
if [ -f "$STATE/operator.pid" ]; then
  kill "$(cat "$STATE/operator.pid")" 2>/dev/null || true
  rm -f "$STATE/operator.pid"
  echo "operator stopped"
fi
if [ "$(cat "$STATE/mode" 2>/dev/null)" = kind ]; then
  kind delete cluster --name parity
else
  .venv/bin/parity cluster --state-dir "$STATE/cluster" down
fi
rm -f "$STATE/mode"
