#!/usr/bin/env bash
# Installs everything the tests and `make up` need on a fresh Debian machine, idempotently:
# Debian packages (PostgreSQL, Patroni, Redis + Sentinel, openssl), the Python virtualenv with
# the project and its test extras, and the control plane built from Go modules (cached).
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(postgresql-15 patroni python3-etcd redis-server redis-sentinel redis-tools openssl ca-certificates)
PYTHON="${PYTHON:-python3}"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> pip install -e .[test]" >&2
  .venv/bin/pip install -q -U pip
  .venv/bin/pip install -q -e '.[test]'
  rm -f .venv/.installed-*; touch "$stamp"
fi

if [ "${SKIP_CONTROLPLANE_BUILD:-0}" != 1 ]; then
  echo "==> control plane (built from Go modules, cached by version)" >&2
  start=$(date +%s)
  bin_dir=$(bash tools/controlplane/build.sh | tail -n1)
  echo "==> control plane binaries in $bin_dir ($(( $(date +%s) - start ))s)" >&2
fi
