"""The baseline round trip on the real node: capture a running environment as a ParityBaseline
(`parity baseline capture`), point the environment at it and find no drift on any level, change
one setting the baseline holds at runtime (Redis CONFIG SET) and find exactly that finding, put
it back and find none again.

The verdicts are the operator's (`parity diff -n`, all three levels): the capture must agree
with the runtime level the operator computes from the same probes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import redis
import yaml
from e2e_support import apply_local_sample, redis_password
from support import REPO_ROOT, wait_until

ENV = "dev"
PARITY = [sys.executable, "-m", "parity.cli.main"]
SETTING, RUNNING, CHANGED = "maxmemory-policy", "allkeys-lru", "volatile-lru"
# The operator's timer probes the services every 60 s (PARITY_RESYNC_SECONDS of `make up`).
VERDICT_TIMEOUT = 240


def parity(plane, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "NO_COLOR": "1"}
    return subprocess.run([*PARITY, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO_ROOT)


def redis_members(plane, ns: str) -> list[redis.Redis]:
    password = redis_password(plane, ns)
    return [redis.Redis(host=f"{ENV}-redis-{i}.{ENV}-redis-headless.{ns}.svc", port=6379, socket_timeout=5,
                        decode_responses=True, password=password) for i in range(3)]


def set_everywhere(plane, ns: str, value: str) -> None:
    for member in redis_members(plane, ns):
        member.config_set(SETTING, value)


@pytest.fixture(scope="module")
def captured(plane, e2e_namespace, tmp_path_factory):
    """(plane, namespace, baseline name, captured manifest); the environment follows the capture."""
    ns = e2e_namespace
    apply_local_sample(plane, ns)
    name = f"captured-{ns}"
    proc = parity(plane, "baseline", "capture", "-n", ns, ENV, "--as", name)
    assert proc.returncode == 0, proc.stderr
    # The sample runs its spec: nothing to note (a note is a value that runs differently).
    assert proc.stderr == ""
    manifest = yaml.safe_load(proc.stdout)
    path = tmp_path_factory.mktemp("capture") / f"{name}.yaml"
    path.write_text(proc.stdout)
    plane.kubectl("apply", "--server-side", "-f", str(path))
    plane.kubectl("patch", "penv", ENV, "-n", ns, "--type=merge", "-p",
                  json.dumps({"spec": {"baselineRef": {"name": name}}}))
    yield plane, ns, name, manifest
    set_everywhere(plane, ns, RUNNING)
    plane.kubectl("delete", "paritybaseline", name, "--ignore-not-found", check=False)


def verdict(plane, ns: str, name: str) -> dict | None:
    """The operator's report against `name` once it covers the current spec on all three levels."""
    proc = parity(plane, "diff", "-n", ns, ENV, "-o", "json", "--fail-on", "critical")
    if proc.returncode not in (0, 2):
        return None  # not compared yet for this generation, or a level unknown
    report = json.loads(proc.stdout)
    levels = {level: state.get("state") for level, state in (report.get("levels") or {}).items()}
    if report.get("baseline") != name or levels != {"declared": "ran", "live": "ran", "runtime": "ran"}:
        return None
    return report


def test_capture_holds_what_runs(captured):
    _plane, ns, name, manifest = captured
    environment = manifest["spec"]["environment"]
    assert manifest["metadata"]["annotations"]["parity.dev/captured-from"] == f"{ns}/{ENV}"
    assert environment["redis"]["config"][SETTING] == RUNNING
    assert environment["etcd"]["replicas"] == 3 and environment["redis"]["sentinel"]["quorum"] == 2
    assert environment["postgres"]["patroni"]["ttl"] == 30


def test_round_trip_clean_then_exactly_the_runtime_change(captured):
    plane, ns, name, _manifest = captured

    clean = wait_until(lambda: (lambda r: r if r is not None and r["items"] == [] else None)(verdict(plane, ns, name)),
                       timeout=VERDICT_TIMEOUT, interval=5, what=f"no drift against {name}")
    assert clean["summary"] == {"critical": 0, "warning": 0, "info": 0}

    set_everywhere(plane, ns, CHANGED)
    try:
        report = wait_until(lambda: (lambda r: r if r is not None and r["items"] else None)(verdict(plane, ns, name)),
                            timeout=VERDICT_TIMEOUT, interval=5, what=f"a finding for redis.config.{SETTING}")
        found = [(i["level"], i["path"], i["local"], i["baseline"]) for i in report["items"]]
        assert found == [("runtime", f"redis.config.{SETTING}", CHANGED, RUNNING)]
    finally:
        set_everywhere(plane, ns, RUNNING)
    wait_until(lambda: (lambda r: r if r is not None and r["items"] == [] else None)(verdict(plane, ns, name)),
               timeout=VERDICT_TIMEOUT, interval=5, what=f"no drift against {name} once {SETTING} is back")
