#!/usr/bin/env bash
# `make up`: a cluster (kind when a Docker engine answers, else the local control plane built
# from Go modules), the CRDs, the baselines, the operator, and the sample environment.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.parity
mkdir -p "$STATE"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

if docker info >/dev/null 2>&1 && command -v kind >/dev/null 2>&1; then
  MODE=kind
else
  MODE=local
fi
echo "$MODE" > "$STATE/mode"

if [ "$MODE" = kind ]; then
  step "kind cluster 'parity' (manifests/kind-config.yaml)"
  kind get clusters 2>/dev/null | grep -qx parity || kind create cluster --name parity --config manifests/kind-config.yaml
  KUBECTL=(kubectl --context kind-parity)
else
  step "local control plane + a real node (containerd, kubelet, kube-proxy, CoreDNS) — no Docker engine here"
  .venv/bin/parity cluster --state-dir "$STATE/cluster" up --node real >/dev/null
  export KUBECONFIG="$PWD/$STATE/cluster/kubeconfig"
  BIN_DIR="$(bash tools/controlplane/build.sh | tail -n1)"
  KUBECTL=("$BIN_DIR/kubectl")
fi

step "CRDs"
"${KUBECTL[@]}" apply --server-side -f crds/parityenvironments.yaml -f crds/paritybaselines.yaml -f crds/paritynotifiers.yaml
# Retried: right after the apply a CRD's status.conditions can be null, and kubectl wait then
# fails at once instead of waiting.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  "${KUBECTL[@]}" wait --for=condition=Established --timeout=60s \
    crd/parityenvironments.parity.dev crd/paritybaselines.parity.dev crd/paritynotifiers.parity.dev && break
  [ "$attempt" = 10 ] && exit 1
  sleep 1
done

step "baselines (staging, production)"
"${KUBECTL[@]}" apply --server-side -f baselines/

step "operator"
if [ "$MODE" = kind ]; then
  docker build -t parity-operator:dev -f operator/Dockerfile .
  kind load docker-image parity-operator:dev --name parity
  "${KUBECTL[@]}" apply -k manifests/operator
  "${KUBECTL[@]}" -n parity-system rollout status deployment/parity-operator --timeout=180s
else
  # The operator runs with your credentials here, but the Patroni pods it binds to the shipped
  # ClusterRole need that ClusterRole to exist (in kind it comes with manifests/operator).
  "${KUBECTL[@]}" apply --server-side -f manifests/operator/patroni-rbac.yaml
  if [ -f "$STATE/operator.pid" ] && kill -0 "$(cat "$STATE/operator.pid")" 2>/dev/null; then
    echo "operator already running (pid $(cat "$STATE/operator.pid"))"
  else
    # On the host, against the local control plane with the real node: runtime probes on,
    # cluster names resolved through the node's DNS, default images from the local catalogue.
    # Logs: .parity/operator.log
    CATALOG="$(.venv/bin/parity images catalog --write | tail -n1)"
    PARITY_RUNTIME_PROBES=on PARITY_CLUSTER_DNS=10.96.0.10 PARITY_IMAGE_CATALOG="$CATALOG" \
      PARITY_METRICS_PORT="${PARITY_METRICS_PORT:-8080}" \
      nohup .venv/bin/parity run --liveness "http://127.0.0.1:${PARITY_HEALTH_PORT:-8081}/healthz" \
      >"$STATE/operator.log" 2>&1 &
    echo $! > "$STATE/operator.pid"
    echo "operator started (pid $!, log $STATE/operator.log)"
  fi
fi

step "pod security: the sample's namespace (default) enforces the restricted level"
# Every child the operator renders meets it; a pod that does not is refused, as in a production
# namespace that enforces it.
"${KUBECTL[@]}" label namespace default --overwrite \
  pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted

if [ "$MODE" = kind ]; then
  step "sample environment (manifests/samples/dev.yaml, published images)"
  "${KUBECTL[@]}" apply -f manifests/samples/dev.yaml
else
  step "sample environment (manifests/overlays/local: the sample with the local images' versions)"
  "${KUBECTL[@]}" apply -k manifests/overlays/local
fi
printf 'waiting for penv/dev to be Ready (real pods: a few minutes the first time)'
for _ in $(seq 1 600); do
  phase="$("${KUBECTL[@]}" get penv dev -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  [ "$phase" = Ready ] && break
  printf '.'; sleep 1
done
echo " ${phase:-unknown}"
"${KUBECTL[@]}" get penv
[ "$phase" = Ready ] || { echo "penv/dev did not become Ready; see $STATE/operator.log" >&2; exit 1; }

cat <<NEXT

Parity is up ($MODE). Next:
$( [ "$MODE" = local ] && echo "  export KUBECONFIG=$PWD/$STATE/cluster/kubeconfig  PATH=$BIN_DIR:\$PATH" )
  kubectl get penv                      # phase, readiness and drift at a glance
  kubectl get pods -o wide              # the pods, running on the real node
  .venv/bin/parity cluster status       # the node, its runtime and what it runs
  kubectl describe penv dev             # conditions, drift findings with remediations, events
  .venv/bin/parity diff -n default dev  # the drift report (exit 2 on critical drift)
  .venv/bin/parity diff manifests/samples/dev.yaml --baseline baselines/production.yaml   # offline
  PARITY_CLUSTER_DNS=10.96.0.10 .venv/bin/parity inspect -n default all dev   # leaders, members, lag
  .venv/bin/parity logs -n default dev --since 10m          # every container's logs, merged in time order
  .venv/bin/parity logs -n default dev --component postgres --level error -f   # follow PostgreSQL errors
  .venv/bin/parity diff -n default dev -o html > drift.html # the drift report as a page (also sarif, markdown)
  make diff-staging                     # the running dev against staging (make help: every target)
  make validate-parity                  # exit 2 on critical drift
  make aggregate-logs SERVICE=redis FILTER='OOM|maxmemory' SINCE=1h   # parity logs behind a make target
  make observability-down               # spec.observability.enabled=false, waits until removed (-up: back)
  make down                             # stop everything
NEXT
