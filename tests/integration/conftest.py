"""Integration fixtures: the operator runs as a real process against the real control plane."""

from __future__ import annotations

import uuid

import pytest
from support import REPO_ROOT, Operator


@pytest.fixture(scope="session")
def operator(crds_installed, tmp_path_factory):
    plane = crds_installed
    plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "baselines"))
    # What tools/up.sh applies before a host-run operator: the ClusterRole that each environment's
    # Patroni RoleBinding points at.
    plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "manifests/operator/patroni-rbac.yaml"))
    # Discovery asked often, so that test_policyreport_apiserver's CRD install is seen soon.
    op = Operator(plane, tmp_path_factory.mktemp("operator") / "operator.log",
                  env={"PARITY_POLICY_REPORTS_RECHECK_SECONDS": "3"})
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    op = item.funcargs.get("operator") if report.when == "call" and report.failed else None
    if op is not None:
        # The operator's side of a failure is in its log; show its end with the test report.
        report.sections.append(("operator log (tail)", op.log_tail()))
