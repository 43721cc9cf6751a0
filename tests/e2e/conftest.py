"""End-to-end fixtures: the real node (containerd, kubelet, kube-proxy, CoreDNS as host
processes) running the environment's pods from locally built images.

One real node fits on a machine. When `make up` left one running (`.parity/cluster`), the tier
uses it and its operator, in namespaces of its own, and leaves both running. Otherwise it
starts its own control plane + node + operator in a temp directory and stops them at the end,
checking that the host is left as it was found. A node that cannot start fails the tier with
the reason; it is never skipped.
"""

from __future__ import annotations

from collections import Counter

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from support import REPO_ROOT, Operator, wait_until

from parity.controlplane import ControlPlane
from parity.controlplane.cluster import reclaim_abandoned_node
from parity.controlplane.hoststate import iptables_save, iptables_tables, mounts_under
from parity.controlplane.nodeconfig import BRIDGE_NAME, CLUSTER_DNS_IP
from parity.probes import clusterdns

MAKE_UP_STATE = REPO_ROOT / ".parity" / "cluster"
MAKE_UP_OPERATOR_PID = REPO_ROOT / ".parity" / "operator.pid"


def _make_up_cluster() -> ControlPlane | None:
    if not (MAKE_UP_STATE / "pids.json").exists():
        return None
    plane = ControlPlane(MAKE_UP_STATE)
    if plane.node_kind == "real" and plane.running():
        return plane
    return None


def _host_snapshot() -> dict:
    return {
        "links": sorted(p.name for p in Path("/sys/class/net").iterdir()),
        "iptables": {fam: iptables_tables(iptables_save(fam) or "") for fam in ("iptables", "ip6tables")},
        "processes": sorted(_node_processes()),
    }


def _node_processes() -> list[str]:
    names = {"containerd", "containerd-shim-runc-v2", "kubelet", "kube-proxy", "coredns", "patroni", "postgres",
             "redis-server", "redis-sentinel", "etcd", "prometheus"}
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                found.append(f"{comm}")
    return found


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory):
    """(plane, operator-or-None, images catalogue path). Fails, never skips, when the node cannot start."""
    shared = _make_up_cluster()
    catalog = _images_catalog()
    if shared is not None:
        os.environ.setdefault(clusterdns.CLUSTER_DNS_ENV, CLUSTER_DNS_IP)
        clusterdns.install_from_env()
        yield shared, None, catalog
        return
    # A node killed with an earlier run (no `down`) is undone first, so that "as found" is clean.
    assert reclaim_abandoned_node(lambda m: print(f"[real node] {m}", flush=True)) == []
    before = _host_snapshot()
    state = tmp_path_factory.mktemp("real-node")
    plane = ControlPlane(state, node="real")
    plane.start(timeout=240, progress=lambda m: print(f"[real node] {m}", flush=True))
    try:
        plane.kubectl("apply", "--server-side", "-k", str(REPO_ROOT / "crds"))
        plane.wait_established(
            "crd/parityenvironments.parity.dev", "crd/paritybaselines.parity.dev", "crd/paritynotifiers.parity.dev")
        plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "baselines"))
        # What make up applies for a host-run operator: the ClusterRole the environments'
        # Patroni RoleBindings name (the role callback labels the primary pod with it).
        plane.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "manifests" / "operator" / "patroni-rbac.yaml"))
        op = Operator(plane, state / "operator.log", env={
            "PARITY_RUNTIME_PROBES": "on", "PARITY_RESYNC_SECONDS": "10",
            "PARITY_IMAGE_CATALOG": str(catalog), clusterdns.CLUSTER_DNS_ENV: CLUSTER_DNS_IP})
        op.start()
        op.wait_ready()
        os.environ[clusterdns.CLUSTER_DNS_ENV] = CLUSTER_DNS_IP
        clusterdns.install_from_env()
        yield plane, op, catalog
        op.stop()
    finally:
        problems = plane.stop(remove_state=False)
    after = _host_snapshot()
    # `parity cluster down` must leave nothing behind: no process, bridge, iptables chain or mount.
    assert problems == [], problems
    assert BRIDGE_NAME not in after["links"]
    assert after["links"] == before["links"]
    assert after["iptables"] == before["iptables"], "iptables rules were left behind"
    # Only what the session added: a process of another job on the host may end meanwhile.
    left = Counter(after["processes"]) - Counter(before["processes"])
    assert not left, f"processes left: {sorted(left.elements())}"
    assert mounts_under(state) == []


def _images_catalog() -> Path:
    proc = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "parity"), "images", "catalog", "--write"],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, f"the local images are not built: {proc.stderr}"
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def plane(real_cluster):
    return real_cluster[0]


@pytest.fixture(scope="module")
def e2e_namespace(plane, request):
    name = f"e2e-{request.module.__name__.split('_', 1)[-1].replace('_', '-')[:30]}-{uuid.uuid4().hex[:6]}"
    plane.kubectl("create", "namespace", name)
    # As `make up` does for the sample: every child must run under the restricted level.
    plane.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield name
    plane.kubectl("delete", "namespace", name, "--wait=true", "--timeout=180s", check=False, timeout=200)
