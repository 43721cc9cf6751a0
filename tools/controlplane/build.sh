#!/usr/bin/env bash
# Builds the local cluster's binaries from pinned Go modules into cache directories keyed by
# the pinned versions, so a second run builds nothing.
#
#   tools/controlplane/build.sh [controlplane] [BIN_DIR]   etcd, kube-apiserver, kube-controller-manager,
#                                                         kube-scheduler, kubectl, kwok
#   tools/controlplane/build.sh node [BIN_DIR]            the real node: kubelet, kube-proxy, containerd,
#                                                         containerd-shim-runc-v2, ctr, runc, coredns
#   tools/controlplane/build.sh etcd-image                etcd at the version the local images carry
#   tools/controlplane/build.sh lint                      kube-score, the outside manifest linter of the tests
#   tools/controlplane/build.sh storage                   local-path-provisioner, the real node's volume provisioner
#
# Prints the bin dir on the last line of stdout. Progress goes to stderr as one line a step
# ("[2/7] kubelet v1.34.4 ... 94s"); the go command's own output (hundreds of `go: downloading`
# lines) goes to a log file per binary, whose tail is shown when a build fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target=controlplane
case "${1:-}" in controlplane|node|etcd-image|lint|storage) target="$1"; shift ;; esac

# The pinned version of MODULE in a go.mod, whether it stands on a `require` line or in a block.
pinned() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m) { print $(i + 1); exit } }' "$2"; }
version_of() {
  local v; v="$(pinned "$1" "$here/$2/go.mod")"
  [ -n "$v" ] || { echo "build.sh: cannot read the pinned version of $1 from tools/controlplane/$2/go.mod" >&2; exit 1; }
  echo "$v"
}
k8s_version="$(version_of k8s.io/kubernetes kubernetes)"
cache="${PARITY_CACHE:-$HOME/.cache/parity}"
case "$target" in
  controlplane)
    etcd_version="$(version_of go.etcd.io/etcd/server/v3 etcd)"
    kwok_version="$(version_of sigs.k8s.io/kwok kwok)"
    key="k8s-${k8s_version}_etcd-${etcd_version}_kwok-${kwok_version}"
    bin_dir="${1:-$cache/controlplane/$key/bin}"
    ;;
  node)
    containerd_version="$(version_of github.com/containerd/containerd/v2 containerd)"
    runc_version="$(version_of github.com/opencontainers/runc runc)"
    coredns_version="$(version_of github.com/coredns/coredns coredns)"
    key="k8s-${k8s_version}_containerd-${containerd_version}_runc-${runc_version}_coredns-${coredns_version}"
    bin_dir="${1:-$cache/node/$key/bin}"
    ;;
  etcd-image)
    etcd_image_version="$(version_of go.etcd.io/etcd/server/v3 etcd-image)"
    bin_dir="${1:-$cache/etcd-image/$etcd_image_version/bin}"
    ;;
  lint)
    kube_score_version="$(version_of github.com/zegl/kube-score kube-score)"
    bin_dir="${1:-$cache/lint/kube-score-$kube_score_version/bin}"
    ;;
  storage)
    lpp_version="$(version_of github.com/rancher/local-path-provisioner local-path-provisioner)"
    bin_dir="${1:-$cache/storage/local-path-provisioner-$lpp_version/bin}"
    ;;
esac
mkdir -p "$bin_dir"
log_dir="$cache/build-logs"
mkdir -p "$log_dir"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# Each step: NAME|VERSION|MODULE_DIR|CGO|TAGS|LDFLAGS|PACKAGE
steps=()
add() { [ -x "$bin_dir/$1" ] || steps+=("$(IFS='|'; echo "$*")"); }
k8s_ldflags() {
  local minor ld="" build_date
  minor="$(echo "$k8s_version" | cut -d. -f2)"
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  echo "-s -w$ld"
}
case "$target" in
  controlplane)
    add etcd "$etcd_version" etcd 0 "" "-s -w" go.etcd.io/etcd/server/v3
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      add "$cmd" "$k8s_version" kubernetes 0 "" "$(k8s_ldflags)" "k8s.io/kubernetes/cmd/$cmd"
    done
    add kwok "$kwok_version" kwok 0 "" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version" sigs.k8s.io/kwok/cmd/kwok
    ;;
  node)
    for cmd in kubelet kube-proxy; do
      add "$cmd" "$k8s_version" kubernetes 0 "" "$(k8s_ldflags)" "k8s.io/kubernetes/cmd/$cmd"
    done
    ctd_ld="-s -w -X github.com/containerd/containerd/v2/version.Version=$containerd_version"
    # Static, without the btrfs snapshotter (it needs cgo and btrfs headers; overlayfs is used).
    for cmd in containerd containerd-shim-runc-v2 ctr; do
      add "$cmd" "$containerd_version" containerd 0 "no_btrfs urfave_cli_no_docs" "$ctd_ld" \
        "github.com/containerd/containerd/v2/cmd/$cmd"
    done
    # runc's nsenter is C, and seccomp profiles need libseccomp (Debian's libseccomp-dev).
    add runc "$runc_version" runc 1 seccomp "-s -w -X main.version=${runc_version#v}" github.com/opencontainers/runc
    add coredns "$coredns_version" coredns 0 "" "-s -w" github.com/coredns/coredns
    ;;
  etcd-image)
    # Static: it runs inside an image whose libc need not match the host's.
    add etcd "$etcd_image_version" etcd-image 0 "" "-s -w" go.etcd.io/etcd/server/v3
    ;;
  lint)
    add kube-score "$kube_score_version" kube-score 0 "" "-s -w -X main.version=${kube_score_version#v}" \
      github.com/zegl/kube-score/cmd/kube-score
    ;;
  storage)
    add local-path-provisioner "$lpp_version" local-path-provisioner 0 "" "-s -w" \
      github.com/rancher/local-path-provisioner
    ;;
esac

total=${#steps[@]}
n=0
for step in "${steps[@]}"; do
  IFS='|' read -r name version module cgo tags ldflags pkg <<<"$step"
  n=$((n + 1))
  log="$log_dir/$name-$version.log"
  start=$(date +%s)
  printf '[%d/%d] building %s %s (log: %s) ... ' "$n" "$total" "$name" "$version" "$log" >&2
  if ! (cd "$here/$module" && CGO_ENABLED="$cgo" go build -trimpath ${tags:+-tags "$tags"} \
        -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "$pkg") >"$log" 2>&1; then
    echo "FAILED after $(( $(date +%s) - start ))s" >&2
    grep -v '^go: downloading' "$log" | tail -n 30 >&2
    rm -f "$bin_dir/$name.tmp"
    exit 1
  fi
  # Renamed only when whole, so an interrupted build is never taken for a cached binary.
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  echo "$(( $(date +%s) - start ))s" >&2
done
echo "$bin_dir"
