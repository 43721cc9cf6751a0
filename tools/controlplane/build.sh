#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok) from Go modules into a cache directory keyed by the pinned versions.
# Usage: tools/controlplane/build.sh [BIN_DIR]   (prints the bin dir on the last line)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The pinned version of MODULE in a go.mod, whether it stands on a `require` line or in a block.
pinned() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m) { print $(i + 1); exit } }' "$2"; }
k8s_version="$(pinned k8s.io/kubernetes "$here/kubernetes/go.mod")"
etcd_version="$(pinned go.etcd.io/etcd/server/v3 "$here/etcd/go.mod")"
kwok_version="$(pinned sigs.k8s.io/kwok "$here/kwok/go.mod")"
for v in "$k8s_version" "$etcd_version" "$kwok_version"; do
  [ -n "$v" ] || { echo "build.sh: cannot read a pinned version from tools/controlplane/*/go.mod" >&2; exit 1; }
done
key="k8s-${k8s_version}_etcd-${etcd_version}_kwok-${kwok_version}"
bin_dir="${1:-${PARITY_CACHE:-$HOME/.cache/parity}/controlplane/$key/bin}"
mkdir -p "$bin_dir"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

need() { for b in "$@"; do [ -x "$bin_dir/$b" ] || return 0; done; return 1; }

if need etcd; then
  echo ">> building etcd $etcd_version" >&2
  (cd "$here/etcd" && go build -trimpath -o "$bin_dir/etcd" go.etcd.io/etcd/server/v3)
fi

if need kube-apiserver kube-controller-manager kube-scheduler kubectl; then
  minor="$(echo "$k8s_version" | cut -d. -f2)"
  ld=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    if [ ! -x "$bin_dir/$cmd" ]; then
      echo ">> building $cmd $k8s_version" >&2
      (cd "$here/kubernetes" && go build -trimpath -ldflags "-s -w $ld" -o "$bin_dir/$cmd" "k8s.io/kubernetes/cmd/$cmd")
    fi
  done
fi

if need kwok; then
  echo ">> building kwok $kwok_version" >&2
  (cd "$here/kwok" && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version" -o "$bin_dir/kwok" sigs.k8s.io/kwok/cmd/kwok)
fi
echo "$bin_dir"
