"""Shared fixtures. The control plane is real: built from Go modules, run as local processes."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """A private control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) for
    the whole session. A build or start failure fails the tests that need it: never a skip."""
    from parity.controlplane import ControlPlane, find_binaries

    plane = ControlPlane(tmp_path_factory.mktemp("controlplane"), bin_dir=find_binaries())
    plane.start(timeout=180)
    try:
        yield plane
    finally:
        plane.stop(remove_state=False)


@pytest.fixture(scope="session")
def crds_installed(control_plane):
    """The parity.dev CRDs applied and Established."""
    control_plane.kubectl("apply", "--server-side", "-k", str(REPO_ROOT / "crds"))
    control_plane.wait_established(
        "crd/parityenvironments.parity.dev", "crd/paritybaselines.parity.dev", "crd/paritynotifiers.parity.dev")
    return control_plane
