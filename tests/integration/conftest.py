"""Integration fixtures: the operator runs as a real process against the real control plane."""

from __future__ import annotations

import os

import pytest
from support import REPO_ROOT, Operator


@pytest.fixture(scope="session")
def operator(crds_installed, tmp_path_factory):
    plane = crds_installed
    plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "baselines"))
    op = Operator(plane, tmp_path_factory.mktemp("operator") / "operator.log")
    op.start()
    try:
        yield op
    finally:
        op.stop()


@pytest.fixture
def namespace(control_plane, request):
    """A fresh namespace per test, deleted afterwards."""
    name = "t-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:40].strip("-")
    name = f"{name}-{os.getpid() % 1000}"
    control_plane.kubectl("create", "namespace", name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)
