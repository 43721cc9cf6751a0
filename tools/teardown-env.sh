#!/usr/bin/env bash
# Deletes one ParityEnvironment so that it never stays stuck on parity.dev/finalizer.
#
#   tools/teardown-env.sh NAMESPACE NAME [LIVENESS_URL]
#
# Used by `tilt down` (the Tiltfile runs it before Tilt deletes its objects) and `make down`
# (before the operator is stopped). kubectl and KUBECONFIG come from the caller.
#
# Why this order, and when the finalizer may be removed by hand: kopf puts the finalizer on
# every environment because the operator runs a timer per environment; its deletion handler
# (handlers/environment.py forget_environment) only drops that operator process's in-memory
# bookkeeping (metric series, triggers, probe results). Children go by garbage collection
# (owner references), PVC retention by the StatefulSets' own policy — neither needs the
# finalizer. So: the environment is deleted while an operator still runs, and that operator
# removes its finalizer itself (its bookkeeping stays right). If no operator removes it within
# the grace period, none runs — and then there is no bookkeeping to clean: the finalizer is
# removed here, and that is said.
set -euo pipefail
ns="$1" name="$2" liveness="${3:-}"
FINALIZER=parity.dev/finalizer
kubectl -n "$ns" get parityenvironment "$name" >/dev/null 2>&1 || { echo "teardown: $ns/$name is not there"; exit 0; }

# An operator answering the liveness URL gets time for a slow reconcile to finish; anywhere
# else (in the cluster, another host process) an idle one answers within seconds.
grace="${PARITY_TEARDOWN_GRACE:-15}"
if [ -n "$liveness" ] && curl -fsS --max-time 2 "$liveness" 2>/dev/null | grep -q '"instance"'; then grace=90; fi

echo "teardown: deleting parityenvironment $ns/$name (an operator gets ${grace}s to remove $FINALIZER)"
kubectl -n "$ns" delete parityenvironment "$name" --wait=false >/dev/null
if kubectl -n "$ns" wait --for=delete "parityenvironment/$name" --timeout="${grace}s" >/dev/null 2>&1; then
  echo "teardown: $ns/$name deleted by its operator"
  exit 0
fi
finalizers="$(kubectl -n "$ns" get parityenvironment "$name" -o jsonpath='{.metadata.finalizers}' 2>/dev/null || true)"
index="$(printf '%s' "$finalizers" | python3 -c 'import json,sys
text = sys.stdin.read().strip()
items = json.loads(text) if text else []
print(items.index(sys.argv[1]) if sys.argv[1] in items else "")' "$FINALIZER")"
if [ -n "$index" ]; then
  echo "teardown: no operator removed $FINALIZER from $ns/$name within ${grace}s (none runs): removing it" \
       "(it guards only a running operator's in-memory bookkeeping; children go by garbage collection)"
  kubectl -n "$ns" patch parityenvironment "$name" --type=json -p \
    "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/$index\",\"value\":\"$FINALIZER\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/$index\"}]" >/dev/null
fi
kubectl -n "$ns" wait --for=delete "parityenvironment/$name" --timeout=30s >/dev/null 2>&1 || {
  echo "teardown: $ns/$name is still there; finalizers: $(kubectl -n "$ns" get parityenvironment "$name" -o jsonpath='{.metadata.finalizers}' 2>&1)" >&2
  exit 1
}
echo "teardown: $ns/$name deleted"
