#!/usr/bin/env bash
# The Tiltfile's sample-<name>-ready resource: waits until the operator has reconciled the sample
# to phase Ready, then shows its drift summary. `tilt ci` succeeds only when this does, so a
# green `tilt ci` means CRDs, baselines, operator and reconcile all work end to end.
#
#   tools/tilt/sample-ready.sh NAMESPACE NAME TIMEOUT   (TIMEOUT as kubectl takes it: 180s)
set -euo pipefail
ns="$1" name="$2" timeout="$3"
if ! kubectl -n "$ns" wait --for=jsonpath='{.status.phase}'=Ready "parityenvironment/$name" --timeout="$timeout"; then
  echo "parityenvironment $ns/$name is not Ready after $timeout; its status:" >&2
  kubectl -n "$ns" get parityenvironment "$name" -o jsonpath='{.status}' >&2 || true
  echo >&2
  exit 1
fi
kubectl -n "$ns" get parityenvironment "$name"
# Exit 2 is `parity diff`'s way of saying it shows critical drift: the answer, not a failure.
rc=0
.venv/bin/parity diff -n "$ns" "$name" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]
