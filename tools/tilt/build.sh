#!/usr/bin/env bash
# Finds or builds Tilt. Prints the path of a `tilt` binary on the last line of stdout.
#
#   tools/tilt/build.sh            `tilt` from PATH when there is one; else the cached build of
#                                  TILT_VERSION; else builds it (once) and caches it.
#   PARITY_TILT_FROM_SOURCE=1      ignore PATH (CI uses this to test the build itself).
#   PARITY_TILT_UI=real|placeholder|auto (default auto: real UI, placeholder only when that fails)
#
# Why from source: the Go module proxy reachable here refuses Tilt (and `go install` of it
# cannot work anyway: its go.mod has replace directives), so the upstream source with its
# vendored dependencies is kept in ../shared/third_party (see the README there). Laptops
# install Tilt the ordinary way (release binary, installer, Homebrew) and never reach the
# build below.
#
# The build: check the tarball's sha256; build the web UI with the yarn Tilt bundles
# (web/.yarn/releases) from the npm registry, as upstream's `make build-js` does — the binary
# refuses to start without pkg/assets/build/index.html, so if the UI build fails a placeholder
# page is put there and that is said loudly; `go build -mod=vendor` with cgo (go-tree-sitter
# needs it) and upstream's ldflags (.goreleaser.yml: version and date into package main).
# Cached under $PARITY_CACHE/tilt/<version>-<ui flavour>/bin, renamed into place only when
# whole, so a second call is instant and an interrupted build is never taken for a cached one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

TILT_VERSION=0.37.6
TILT_DATE=2026-07-28  # the tag's date (upstream passes the release date as main.date)
TILT_SHA256=d450ecdc6fe97a90907a8c9c8cd869eeccf146a55287df1dceac93e936718f7a
third_party="${PARITY_THIRD_PARTY:-$repo/../shared/third_party}"
tarball="$third_party/tilt-v$TILT_VERSION-src.tar.gz"
cache="${PARITY_CACHE:-$HOME/.cache/parity}/tilt"
ui="${PARITY_TILT_UI:-auto}"

say() { echo "tilt/build.sh: $*" >&2; }

if [ "${PARITY_TILT_FROM_SOURCE:-0}" != 1 ] && command -v tilt >/dev/null 2>&1; then
  command -v tilt
  exit 0
fi

cached() {  # the cached binary for a UI flavour, if whole
  [ -x "$cache/$TILT_VERSION-ui-$1/bin/tilt" ] && echo "$cache/$TILT_VERSION-ui-$1/bin/tilt"
}
case "$ui" in
  auto) flavours=(real placeholder) ;;
  real|placeholder) flavours=("$ui") ;;
  *) say "PARITY_TILT_UI must be auto, real or placeholder, not '$ui'"; exit 2 ;;
esac
for flavour in "${flavours[@]}"; do
  if bin="$(cached "$flavour")"; then echo "$bin"; exit 0; fi
done

mkdir -p "$cache"
# One build at a time per cache (tests and `make` may ask together); the second waits and
# then finds the first one's binary.
if command -v flock >/dev/null 2>&1; then  # util-linux; macOS has none (and usually a tilt on PATH)
  exec 9>"$cache/.build.lock"
  flock 9
fi
for flavour in "${flavours[@]}"; do
  if bin="$(cached "$flavour")"; then echo "$bin"; exit 0; fi
done

[ -f "$tarball" ] || { say "no Tilt source at $tarball and no tilt on PATH; install Tilt (docs/quickstart.md) or set PARITY_THIRD_PARTY"; exit 1; }
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [ "$actual" != "$TILT_SHA256" ]; then
  say "checksum mismatch for $tarball: expected $TILT_SHA256, got $actual; refusing to build"
  exit 1
fi
for tool in go gcc; do
  command -v "$tool" >/dev/null 2>&1 || { say "building Tilt needs $tool on PATH (or install tilt: docs/quickstart.md)"; exit 1; }
done

work="$cache/src-$TILT_VERSION.$$"
log_dir="${PARITY_CACHE:-$HOME/.cache/parity}/build-logs"
mkdir -p "$log_dir" "$work"
trap 'rm -rf "$work"' EXIT
say "building Tilt $TILT_VERSION from $tarball (sha256 ok); logs in $log_dir/tilt-*.log"
tar -xzf "$tarball" -C "$work"

flavour=placeholder
if [ "$ui" != placeholder ]; then
  start=$(date +%s)
  ui_log="$log_dir/tilt-$TILT_VERSION-web.log"
  yarn_cjs="$(ls "$work"/web/.yarn/releases/yarn-*.cjs 2>/dev/null | head -n1)"
  printf 'tilt/build.sh: [1/2] web UI (bundled %s, packages from the npm registry) ... ' "$(basename "${yarn_cjs:-yarn?}")" >&2
  # CI=false: react-scripts turns lint warnings into errors under CI=true.
  if [ -n "$yarn_cjs" ] && command -v node >/dev/null 2>&1 && (
       cd "$work/web" && export CI=false GENERATE_SOURCEMAP=false YARN_ENABLE_TELEMETRY=0 \
         YARN_ENABLE_PROGRESS_BARS=0 && node "$yarn_cjs" install --immutable && node "$yarn_cjs" build
     ) >"$ui_log" 2>&1 && [ -f "$work/web/build/index.html" ]; then
    cp -r "$work"/web/build/* "$work/pkg/assets/build/"
    flavour=real
    echo "$(( $(date +%s) - start ))s" >&2
  else
    echo "FAILED after $(( $(date +%s) - start ))s" >&2
    tail -n 20 "$ui_log" >&2 || true
    if [ "$ui" = real ]; then say "PARITY_TILT_UI=real and the web UI did not build"; exit 1; fi
  fi
fi
if [ "$flavour" = placeholder ]; then
  cat >&2 <<'LOUD'
tilt/build.sh: ************************************************************************************
tilt/build.sh: * The Tilt web UI was NOT built: this Tilt serves a PLACEHOLDER page in the browser.   *
tilt/build.sh: * Headless use (`tilt ci`, `tilt up` with the terminal UI) works. For the real UI,    *
tilt/build.sh: * make the npm registry reachable and run: PARITY_TILT_UI=real tools/tilt/build.sh    *
tilt/build.sh: ************************************************************************************
LOUD
  cat >"$work/pkg/assets/build/index.html" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>Tilt (placeholder UI)</title></head>
<body><h1>Tilt web UI not built</h1><p>This Tilt was built by the Parity project's
tools/tilt/build.sh without its web UI (the npm registry was not reachable). Use the terminal
UI or <code>tilt get uiresources</code>; rebuild with <code>PARITY_TILT_UI=real tools/tilt/build.sh</code>.</p></body></html>
HTML
fi

start=$(date +%s)
go_log="$log_dir/tilt-$TILT_VERSION-go.log"
bin_dir="$cache/$TILT_VERSION-ui-$flavour/bin"
mkdir -p "$bin_dir"
printf 'tilt/build.sh: [2/2] go build -mod=vendor ./cmd/tilt (cgo; minutes when cold) ... ' >&2
if ! (cd "$work" && GOTOOLCHAIN=local GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=1 go build -trimpath \
        -tags=osusergo -ldflags "-s -w -X main.version=$TILT_VERSION -X main.date=$TILT_DATE" \
        -o "$bin_dir/tilt.tmp" ./cmd/tilt) >"$go_log" 2>&1; then
  echo "FAILED after $(( $(date +%s) - start ))s" >&2
  tail -n 30 "$go_log" >&2
  rm -f "$bin_dir/tilt.tmp"
  exit 1
fi
mv "$bin_dir/tilt.tmp" "$bin_dir/tilt"
echo "$(( $(date +%s) - start ))s" >&2
echo "$bin_dir/tilt"
