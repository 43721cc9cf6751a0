"""A real node killed without `down` is found through the host-wide owner record and undone by
the next `up`; a running one is never touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parity.controlplane import cluster, hoststate
from parity.controlplane.preflight import HostFacts, node_problems


@pytest.fixture
def owner_file(tmp_path, monkeypatch):
    path = tmp_path / "run" / "parity" / "real-node"
    monkeypatch.setattr(hoststate, "HOST_OWNER_FILE", path)
    return path


def _state_dir(tmp_path: Path, *, pids: dict[str, int], node_pids: dict[str, int]) -> Path:
    state = tmp_path / "state"
    (state / "node").mkdir(parents=True)
    (state / "node-kind").write_text("real")
    (state / "pids.json").write_text(json.dumps(pids))
    (state / "node" / "pids.json").write_text(json.dumps(node_pids))
    return state


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claim_then_release_leaves_no_record(owner_file, tmp_path):
    hoststate.claim_host(tmp_path)
    assert hoststate.host_owner() == tmp_path.resolve()
    hoststate.release_host(tmp_path / "other")  # not the owner: the record stays
    assert owner_file.exists()
    hoststate.release_host(tmp_path)
    assert hoststate.host_owner() is None and not owner_file.exists()


def test_no_record_means_nothing_to_reclaim(owner_file, monkeypatch):
    monkeypatch.setattr(cluster.ControlPlane, "stop", lambda self, remove_state=False: pytest.fail("stopped"))
    assert cluster.reclaim_abandoned_node() == []


def test_a_node_whose_processes_are_all_gone_is_stopped_which_undoes_its_host_changes(owner_file, tmp_path,
                                                                                       monkeypatch):
    dead = _dead_pid()
    state = _state_dir(tmp_path, pids={"etcd": dead}, node_pids={"kubelet": dead, "containerd": dead})
    hoststate.claim_host(state)
    stopped = []
    monkeypatch.setattr(cluster.ControlPlane, "stop",
                        lambda self, remove_state=False: stopped.append((self.state_dir, remove_state)) or [])
    said = []
    assert cluster.reclaim_abandoned_node(said.append) == []
    assert stopped == [(state.resolve(), False)]
    assert str(state.resolve()) in said[0]


def test_a_node_with_a_live_process_is_left_running(owner_file, tmp_path, monkeypatch):
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as live:
        try:
            state = _state_dir(tmp_path, pids={"etcd": _dead_pid()}, node_pids={"kubelet": live.pid})
            hoststate.claim_host(state)
            monkeypatch.setattr(cluster.ControlPlane, "stop",
                                lambda self, remove_state=False: pytest.fail("a running node was stopped"))
            assert cluster.reclaim_abandoned_node() == []
        finally:
            live.kill()


def test_a_record_whose_state_directory_is_gone_is_reported_not_guessed(owner_file, tmp_path):
    hoststate.claim_host(tmp_path / "removed")
    problems = cluster.reclaim_abandoned_node()
    assert len(problems) == 1 and "is gone" in problems[0] and str(owner_file) in problems[0]


def test_what_could_not_be_undone_is_returned(owner_file, tmp_path, monkeypatch):
    dead = _dead_pid()
    state = _state_dir(tmp_path, pids={}, node_pids={"kubelet": dead})
    hoststate.claim_host(state)
    monkeypatch.setattr(cluster.ControlPlane, "stop", lambda self, remove_state=False: ["mount /x busy"])
    assert cluster.reclaim_abandoned_node() == ["mount /x busy"]


def test_preflight_names_the_running_node_that_holds_the_bridge():
    facts = HostFacts(euid=0, filesystems={"overlay"}, bridge_netfilter=True, cgroup_mounted=True,
                      tools_missing=[], binaries_missing=[], cni_missing=[], kubelet_port_free=True,
                      hostname="vm", hostname_resolves=True, node_ip="192.0.2.2", leftover_bridge=True,
                      node_owner="/tmp/x/real-node0")
    (problem,) = node_problems(facts, bin_dir=Path("/b"), cni_bin_dir=Path("/c"))
    assert "/tmp/x/real-node0 is running" in problem and "--state-dir /tmp/x/real-node0" in problem
