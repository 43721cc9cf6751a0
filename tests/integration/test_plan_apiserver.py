"""The transition planner and the write-refusal path against the real API server, with the
operator running as a process: a change the API server would refuse is refused up front with
Stalled and a remediation, and a write it refuses anyway ends in Stalled with its message."""

from __future__ import annotations

import json

import pytest
import yaml

from parity import constants

from support import REPO_ROOT, env_status, kget, wait_env_phase, wait_until

pytestmark = pytest.mark.integration

CHILD_KINDS = "statefulsets,deployments,services,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets"


def sample() -> dict:
    return yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())


def apply(plane, manifest: dict, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def conditions(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status.get("conditions", [])}


def children(plane, namespace: str) -> dict:
    items = kget(plane, CHILD_KINDS, "-n", namespace, "-l", f"{constants.LABEL_ENVIRONMENT}=dev")["items"]
    return {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in items}


def wait_stalled(plane, namespace: str, reason: str) -> dict:
    return wait_until(lambda: (s := env_status(plane, namespace))
                      and conditions(s).get("Stalled", {}).get("reason") == reason and s,
                      timeout=60, what=f"Stalled {reason}")



def test_storage_size_change_is_refused_and_no_child_changes(operator, namespace):
    plane = operator.plane
    env = sample()
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace)
    size = kget(plane, "statefulset", "dev-postgres", "-n", namespace)["spec"]["volumeClaimTemplates"][0][
        "spec"]["resources"]["requests"]["storage"]
    before = children(plane, namespace)

    env["spec"]["postgres"].setdefault("storage", {})["size"] = "7Gi"
    # A parameter change in the same edit: it must wait too, nothing is half-applied.
    env["spec"]["postgres"].setdefault("parameters", {})["work_mem"] = "12MB"
    apply(plane, env, namespace)
    status = wait_stalled(plane, namespace, "StorageChangeRefused")
    stalled = conditions(status)["Stalled"]
    assert stalled["status"] == "True"
    assert f"spec.postgres.storage.size changed from {size} to 7Gi" in stalled["message"]
    assert f"set spec.postgres.storage.size back to {size}" in stalled["message"]
    assert status["observedGeneration"] == kget(plane, "penv", "dev", "-n", namespace)["metadata"]["generation"]
    assert children(plane, namespace) == before
    events = kget(plane, "events", "-n", namespace, "--field-selector", "reason=StorageChangeRefused")["items"]
    assert events and "set spec.postgres.storage.size back to" in events[0]["message"]

    # Undoing the size lets the rest (the parameter) go through.
    env["spec"]["postgres"]["storage"]["size"] = size
    apply(plane, env, namespace)
    wait_until(lambda: conditions(env_status(plane, namespace)).get("Stalled", {}).get("status") == "False",
               timeout=60, what="Stalled=False after undo")
    config = kget(plane, "configmap", "dev-postgres-config", "-n", namespace)
    assert "12MB" in json.dumps(config["data"])


def test_a_write_the_api_server_refuses_ends_in_stalled_with_its_message(operator, namespace):
    plane = operator.plane
    env = sample()
    # The schema cannot see that a request exceeds its limit; the API server refuses the StatefulSet.
    env["spec"]["redis"]["resources"] = {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}
    apply(plane, env, namespace)
    status = wait_stalled(plane, namespace, "WriteRefused")
    stalled = conditions(status)["Stalled"]
    assert stalled["status"] == "True"
    assert "refused to apply StatefulSet dev-redis" in stalled["message"]
    assert "must be less than or equal to cpu limit" in stalled["message"]
    # Nothing after the refused write was applied, and read-only syncs do not clear the verdict.
    assert ("StatefulSet", "dev-redis") not in children(plane, namespace)
    # Fixing the spec converges.
    env["spec"]["redis"]["resources"] = {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace)
    assert conditions(env_status(plane, namespace))["Stalled"]["status"] == "False"
