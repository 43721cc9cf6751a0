#!/usr/bin/env bash
# `make tilt`: the live dev loop. Makes sure a cluster runs — kind `parity` when a Docker engine
# and kind are here, else the local control plane (.parity/cluster) — points KUBECONFIG at it
# and runs `tilt up` (arguments are passed on: `bash tools/tilt.sh ci` runs `tilt ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.parity
mkdir -p "$STATE"

[ -x .venv/bin/parity ] || bash tools/setup-deps.sh

if docker info >/dev/null 2>&1 && command -v kind >/dev/null 2>&1; then
  kind get clusters 2>/dev/null | grep -qx parity || kind create cluster --name parity --config manifests/kind-config.yaml
  # A kubeconfig of its own, so the user's current context is left alone.
  kind get kubeconfig --name parity > "$STATE/kind-kubeconfig"
  export KUBECONFIG="$PWD/$STATE/kind-kubeconfig"
  echo "cluster: kind-parity (KUBECONFIG=$KUBECONFIG)"
else
  .venv/bin/parity cluster --state-dir "$STATE/cluster" up >/dev/null
  export KUBECONFIG="$PWD/$STATE/cluster/kubeconfig"
  # The Tiltfile's `kubectl wait` needs a kubectl; the control plane's own is built with it.
  BIN_DIR="$(bash tools/controlplane/build.sh | tail -n1)"
  export PATH="$BIN_DIR:$PATH"
  echo "cluster: local control plane, context parity-local (KUBECONFIG=$KUBECONFIG)"
  if [ "$(cat "$STATE/cluster/node-kind" 2>/dev/null)" = real ]; then
    # make up's real node: the sample with the local images' versions, the operator with the
    # local image catalogue and its runtime probes on (cluster DNS through kube-proxy), as make up runs it.
    export PARITY_TILT_REAL_NODE=1 PARITY_CLUSTER_DNS=10.96.0.10
    PARITY_IMAGE_CATALOG="$(.venv/bin/parity images catalog --write | tail -n1)"
    export PARITY_IMAGE_CATALOG
    echo "node: real (workloads run; sample from manifests/overlays/local, runtime probes on)"
  fi
fi

# `make up` may have left an operator running on this host; two operators would fight over
# the same environments. Stop that one (only the process make up recorded).
if [ -f "$STATE/operator.pid" ]; then
  pid="$(cat "$STATE/operator.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" && echo "stopped the operator that make up started (pid $pid); Tilt runs its own"
  fi
  rm -f "$STATE/operator.pid"
fi

# tilt from PATH, else built here from ../shared/third_party (cached by version: tools/tilt/build.sh).
if ! TILT="$(bash tools/tilt/build.sh | tail -n1)" || [ -z "$TILT" ]; then
  cat >&2 <<'HOW'
No tilt on PATH and it could not be built here. The cluster is up; install Tilt, then run `make tilt` again:
  - release binary: https://github.com/tilt-dev/tilt/releases (tilt.<version>.linux.x86_64.tar.gz),
    unpack `tilt` into a directory on PATH;
  - or the installer: curl -fsSL https://raw.githubusercontent.com/tilt-dev/tilt/master/scripts/install.sh | bash
  - or Homebrew: brew install tilt
(`go install github.com/tilt-dev/tilt/cmd/tilt` does not work: its go.mod has replace directives.)
Meanwhile `make up` runs the same operator without the live loop.
HOW
  exit 1
fi

[ $# -gt 0 ] || set -- up
exec "$TILT" "$@"
