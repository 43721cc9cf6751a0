#!/usr/bin/env bash
# Installs everything the tests and `make up` need on a fresh Debian machine, idempotently:
# Debian packages (PostgreSQL, Patroni, Redis + Sentinel, openssl for the runtime tier; iptables,
# CNI plugins, libseccomp, debootstrap, umoci, skopeo, catatonit for the real node and its
# images), the Python virtualenv with the project and its test extras, the control plane and
# the real node built from Go modules (cached by version), Tilt (tools/tilt/build.sh), and the node's
# images (cached by content).
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(postgresql-15 patroni python3-etcd redis-server redis-sentinel redis-tools openssl ca-certificates
  iptables iproute2 conntrack containernetworking-plugins libseccomp-dev debootstrap umoci skopeo catatonit
  chromium prometheus)  # prometheus: promtool checks and unit-tests the alert rules; chromium: the HTML drift report is rendered headless in tests (tests/unit/test_report_html_chromium.py)
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
  for target in controlplane node etcd-image lint; do
    echo "==> $target binaries (built from Go modules, cached by version; the first build takes minutes)" >&2
    start=$(date +%s)
    bin_dir=$(bash tools/controlplane/build.sh "$target" | tail -n1)
    echo "==> $target binaries in $bin_dir ($(( $(date +%s) - start ))s)" >&2
  done
fi

# Tilt, for `make tilt`/`make tilt-ci` and tests/integration/test_tilt_ci.py: from PATH, else built
# from ../shared/third_party and cached by version (tools/tilt/build.sh). Not fatal here, since
# `make up` needs no Tilt; the tilt tests fail on their own, with build.sh's message.
if [ "${SKIP_TILT_BUILD:-0}" != 1 ]; then
  echo "==> tilt (from PATH, else built from ../shared/third_party, cached by version; the first build takes minutes)" >&2
  start=$(date +%s)
  if tilt_bin=$(bash tools/tilt/build.sh | tail -n1); then
    echo "==> tilt: $tilt_bin ($(( $(date +%s) - start ))s)" >&2
  else
    echo "==> tilt: NOT available (see above); make tilt and the tilt tests will fail until it is" >&2
  fi
fi

if [ "${SKIP_IMAGES_BUILD:-0}" != 1 ]; then
  echo "==> the real node's images (built from Debian/PyPI packages, cached by content)" >&2
  start=$(date +%s)
  .venv/bin/parity images build
  echo "==> images ready ($(( $(date +%s) - start ))s)" >&2
fi
