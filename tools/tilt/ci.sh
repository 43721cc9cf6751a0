#!/usr/bin/env bash
# `make tilt-ci`: `tilt ci` with the project's Tiltfile against a private local control plane
# (kwok node, free ports, a temp state dir), then `tilt down`, then the control plane goes.
# Passes only when the sample environment is Ready (the Tiltfile's sample-<name>-ready).
#
# Why a private control plane and not `make up`'s cluster: `tilt ci` applies and then `tilt down`
# deletes the sample `dev`, and needs its own operator; on make up's cluster that would take over
# (and delete) make up's `dev` and fight make up's operator. A private one makes the target pass
# the same whether or not make up's environment is running, and leaves it alone.
# Extra arguments go to `tilt ci` (e.g. `bash tools/tilt/ci.sh --timeout 5m`).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
[ -x .venv/bin/parity ] || bash tools/setup-deps.sh
TILT="$(bash tools/tilt/build.sh | tail -n1)"
BIN_DIR="$(bash tools/controlplane/build.sh | tail -n1)"
state="$(mktemp -d "${TMPDIR:-/tmp}/parity-tilt-ci.XXXXXX")"
export KUBECONFIG="$state/cluster/kubeconfig" PATH="$BIN_DIR:$PATH"
export PARITY_TILT_SETTINGS="$state/tilt-settings.yaml"

cleanup() {
  local rc=$?
  if [ -f "$KUBECONFIG" ]; then
    "$TILT" down >"$state/tilt-down.log" 2>&1 || { echo "tilt down failed:" >&2; tail -n 20 "$state/tilt-down.log" >&2; rc=1; }
  fi
  .venv/bin/parity cluster --bin-dir "$BIN_DIR" --state-dir "$state/cluster" down >/dev/null 2>&1 || true
  rm -rf "$state"
  exit "$rc"
}
trap cleanup EXIT

echo "==> private control plane in $state (kwok node)" >&2
.venv/bin/parity cluster --bin-dir "$BIN_DIR" --state-dir "$state/cluster" up >/dev/null
read -r metrics health tilt_port < <(.venv/bin/python -c '
from parity.controlplane.cluster import free_port
print(free_port(), free_port(), free_port())')
printf 'operator_metrics_port: %s\noperator_health_port: %s\n' "$metrics" "$health" >"$PARITY_TILT_SETTINGS"
echo "==> $TILT ci (operator on :$metrics/:$health, Tilt on :$tilt_port)" >&2
"$TILT" ci --port "$tilt_port" "$@"
