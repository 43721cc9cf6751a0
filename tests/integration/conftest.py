"""Integration fixtures: the operator runs as a real process against the real control plane."""

from __future__ import annotations

import uuid

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
    name = f"{name[:50]}-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("create", "namespace", name)
    yield name
    # Waiting keeps one test's teardown from competing with the next test's set-up on 2 cores.
    control_plane.kubectl("delete", "namespace", name, "--wait=true", "--timeout=90s", check=False, timeout=120)
