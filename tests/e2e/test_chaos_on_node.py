"""`parity chaos` on the real node, against an environment the operator deployed: each experiment
injects its fault (SIGSTOP through containerd, iptables in the pod's network namespace), heals it,
and its invariants are checked while a client writes through the environment's Services."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from e2e_support import apply_local_sample
from support import REPO_ROOT

ENV = "dev"


@pytest.fixture(scope="module")
def env(plane, e2e_namespace):
    apply_local_sample(plane, e2e_namespace)
    return plane, e2e_namespace


def chaos(plane, ns: str, experiment: str, seed: int, duration: float) -> dict:
    proc = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "parity"), "chaos", "run", experiment, "-n", ns, ENV,
         "--seed", str(seed), "--duration", str(duration), "-o", "json"],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, **plane.env(), "PARITY_STATE_DIR": str(plane.state_dir)})
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout)
    held = all(i["held"] for i in report["invariants"])
    assert proc.returncode == (0 if held and report["invariants"] else 1), proc.stderr
    assert report["experiment"] == experiment and report["seed"] == seed
    return report


def invariants(report: dict) -> dict[str, dict]:
    return {i["name"]: i for i in report["invariants"]}


def test_redis_freeze_fails_over_and_the_old_master_rejoins(env):
    plane, ns = env
    report = chaos(plane, ns, "redis-freeze", seed=11, duration=10)
    found = invariants(report)
    assert found["sentinel failed over"]["held"], report
    assert found["the thawed master rejoined as a replica"]["held"], report
    assert report["figures"]["acked_writes"] > 0


def test_patroni_partition_has_no_split_brain_and_loses_nothing(env):
    plane, ns = env
    report = chaos(plane, ns, "patroni-partition", seed=12, duration=10)
    found = invariants(report)
    assert all(i["held"] for i in report["invariants"]), report
    assert found["never more than one writable primary"]["held"]
    assert found["no acknowledged write lost (synchronous mode)"]["held"]
    assert report["figures"]["acked_writes_lost"] == 0 and report["figures"]["writable_samples"] > 10


def test_etcd_member_loss_keeps_or_demotes_per_failsafe_mode_and_recovers(env):
    plane, ns = env
    report = chaos(plane, ns, "etcd-member-loss", seed=13, duration=20)
    assert all(i["held"] for i in report["invariants"]), report
    names = set(invariants(report))
    assert "writes go on with one etcd member stopped" in names
    assert any(n.startswith("quorum lost") for n in names)
    assert "after the restore: a leader, and writes accepted" in names
