"""The day-to-day make targets against the local control plane (kwok nodes), invoked through
make with KUBECONFIG pointing at it.

kwok pods run no processes: the targets that read the running services (inspect-*) are checked
for reaching the right environment and failing cleanly (exit 1, one line naming what was dialled);
aggregate-logs is run on a component the environment does not have, because reading a kwok pod's
log would make the API server dial the fake node's kubelet port. Their content on real services:
tests/e2e/test_logs_on_node.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from support import REPO_ROOT, kget, wait_env_phase, wait_until

pytestmark = pytest.mark.integration

PARITY = f"PARITY={sys.executable} -m parity.cli.main"


def make(plane, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PARITY_CLUSTER_DNS", "ENV")}
    env.update(KUBECONFIG=str(plane.kubeconfig), NO_COLOR="1")
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO_ROOT), PARITY, *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def sample(**changes) -> dict:
    env = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
    for path, value in changes.items():
        node = env["spec"]
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return env


def apply(plane, manifest: dict, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def status(plane, namespace: str) -> dict:
    return kget(plane, "penv", "dev", "-n", namespace).get("status") or {}



def parity_errors(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("parity:")]


def test_diff_and_validate_targets_on_the_running_environment(operator, namespace):
    plane = operator.plane
    apply(plane, sample(**{"postgres.version": "15"}), namespace)  # production runs 16: critical
    wait_until(lambda: (status(plane, namespace).get("drift") or {}).get("highestSeverity") == "critical",
               timeout=90, what="critical drift in status")

    proc = make(plane, "diff-production", f"NS={namespace}")
    assert proc.returncode == 0, proc.stderr
    assert "postgres.version" in proc.stdout and 'against baseline "production"' in proc.stdout

    proc = make(plane, "diff-production", f"NS={namespace}", "OUTPUT=html")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!DOCTYPE html>") and f"{namespace}/dev" in proc.stdout

    # The environment follows production: against staging its spec is compared (declared level).
    proc = make(plane, "diff-staging", f"NS={namespace}", "OUTPUT=json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["baseline"] == "staging"
    assert "follows baseline 'production', not 'staging'" in proc.stderr

    proc = make(plane, "validate-parity", f"NS={namespace}")
    assert proc.returncode == 2, proc.stderr
    assert "critical" in proc.stdout and "Error 2" in proc.stderr

    proc = make(plane, "validate-parity", f"NS={namespace}", "ENV_NAME=nope")
    assert proc.returncode != 0 and "Error 1" in proc.stderr
    errors = parity_errors(proc)
    assert len(errors) == 1 and f"{namespace}/nope not found" in errors[0], proc.stderr


def test_inspect_targets_reach_the_environment_and_fail_cleanly_without_services(operator, namespace):
    plane = operator.plane
    apply(plane, sample(), namespace)
    wait_env_phase(plane, namespace)
    for target, dialled in (("inspect-etcd", "dev-etcd"), ("inspect-patroni", "dev-postgres"),
                            ("inspect-redis", "dev-"), ("inspect-cluster", "dev-etcd")):
        proc = make(plane, target, f"NS={namespace}")
        assert proc.returncode != 0 and "Error 1" in proc.stderr, (target, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        text = proc.stdout + proc.stderr
        assert dialled in text and namespace in text, (target, text)
    proc = make(plane, "inspect-etcd", f"NS={namespace}", "ENV_NAME=nope")
    errors = parity_errors(proc)
    assert proc.returncode != 0 and len(errors) == 1 and "nope" in errors[0], proc.stderr


def test_aggregate_logs_target(operator, namespace):
    plane = operator.plane
    apply(plane, sample(**{"observability.enabled": False}), namespace)
    wait_env_phase(plane, namespace)
    proc = make(plane, "aggregate-logs", f"NS={namespace}", "SERVICE=observability", "FILTER=a \"quoted\" | b",
                "SINCE=10m", "LEVEL=error", "TAIL=5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"ParityEnvironment {namespace}/dev has no observability containers" in proc.stderr
    for args, fragment in ((["SERVICE=mysql"], "--component: 'mysql'"), (["FILTER=(x"], "--grep: '(x'"),
                           (["SINCE=ten"], "--since: 'ten'"), (["ENV_NAME=nope"], f"{namespace}/nope not found")):
        proc = make(plane, "aggregate-logs", f"NS={namespace}", *args)
        errors = parity_errors(proc)
        assert proc.returncode != 0 and len(errors) == 1 and fragment in errors[0], (args, proc.stderr)


def test_observability_down_and_up_targets(operator, namespace):
    plane = operator.plane
    apply(plane, sample(), namespace)
    wait_env_phase(plane, namespace)

    def observability_workloads() -> list[str]:
        items = kget(plane, "deployments,statefulsets", "-n", namespace, "-l",
                     "parity.dev/environment=dev,app.kubernetes.io/component=observability")["items"]
        return [o["metadata"]["name"] for o in items]

    assert observability_workloads()
    proc = make(plane, "observability-down", f"NS={namespace}")
    assert proc.returncode == 0, proc.stderr
    assert "observability removed" in proc.stdout
    assert observability_workloads() == []
    assert kget(plane, "penv", "dev", "-n", namespace)["spec"]["observability"]["enabled"] is False

    proc = make(plane, "observability-up", f"NS={namespace}")
    assert proc.returncode == 0, proc.stderr
    assert "ready" in proc.stdout
    assert observability_workloads()
    st = status(plane, namespace)
    assert st["components"]["observability"]["ready"] == st["components"]["observability"]["desired"] > 0

    proc = make(plane, "observability-up", f"NS={namespace}", "ENV_NAME=nope")
    errors = parity_errors(proc)
    assert proc.returncode != 0 and len(errors) == 1 and f"{namespace}/nope not found" in errors[0], proc.stderr
