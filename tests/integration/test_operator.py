"""The operator against the real API server: children, readiness, convergence, GC, restarts."""

from __future__ import annotations

import copy
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


def children(plane, namespace: str, name: str = "dev") -> list[dict]:
    return kget(plane, CHILD_KINDS, "-n", namespace, "-l", f"{constants.LABEL_ENVIRONMENT}={name}")["items"]


def writes(plane, namespace: str) -> dict:
    """Per child, its generation and every managedFields entry outside the status subresource
    (manager, operation, time, fields). Any write to a child's spec, data or metadata, by the
    operator or anyone, changes one of these; the controllers' status updates (a PDB's counts
    follow its pods a little after the environment turns Ready) do not, so they are not taken
    for a write of ours the way a bare resourceVersion comparison would."""
    return {(o["kind"], o["metadata"]["name"]): (
        o["metadata"].get("generation"),
        sorted(json.dumps([m.get("manager"), m.get("operation"), m.get("time"), m.get("fieldsV1")], sort_keys=True)
               for m in o["metadata"].get("managedFields", []) if m.get("subresource") != "status"))
        for o in children(plane, namespace)}


def test_sample_reaches_ready_with_owned_children(operator, namespace):
    plane = operator.plane
    apply(plane, sample(), namespace)
    status = wait_env_phase(plane, namespace, "Ready")
    env = kget(plane, "penv", "dev", "-n", namespace)
    kids = children(plane, namespace)
    kinds = {o["kind"] for o in kids}
    assert {"StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "RoleBinding"} <= kinds, kinds
    assert "Role" not in kinds  # Patroni is bound to the shipped ClusterRole instead
    for obj in kids:
        refs = obj["metadata"].get("ownerReferences") or []
        assert [r["uid"] for r in refs if r.get("controller")] == [env["metadata"]["uid"]], obj["metadata"]["name"]
        labels = obj["metadata"]["labels"]
        for key in (constants.LABEL_NAME, constants.LABEL_INSTANCE, constants.LABEL_COMPONENT,
                    constants.LABEL_PART_OF, constants.LABEL_MANAGED_BY):
            assert labels.get(key), (obj["metadata"]["name"], key)
    assert status["observedGeneration"] == env["metadata"]["generation"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    for ctype in ("EtcdReady", "PostgresReady", "RedisReady"):
        assert conditions[ctype]["status"] == "True", conditions[ctype]
    for comp in ("etcd", "postgres", "redis"):
        assert status["components"][comp]["ready"] == status["components"][comp]["desired"] > 0
    # Pods really run on the kwok node.
    pods = kget(plane, "pods", "-n", namespace)["items"]
    assert pods and all(p["status"].get("phase") == "Running" for p in pods)


def test_resync_with_nothing_changed_writes_nothing(operator, namespace):
    plane = operator.plane
    apply(plane, sample(), namespace)
    wait_env_phase(plane, namespace, "Ready")
    before = writes(plane, namespace)
    # Restarting the operator resumes every environment: a full reconcile with no change.
    operator.stop()
    operator.start()
    operator.wait_ready()
    # Touch the environment without a spec change: a label edit triggers a watch event only.
    plane.kubectl("label", "penv", "dev", "-n", namespace, "touched=yes")
    wait_until(lambda: kget(plane, "penv", "dev", "-n", namespace)["metadata"]["labels"].get("touched"), timeout=10)
    import time
    time.sleep(5)  # give any (wrong) write the chance to happen
    after = writes(plane, namespace)
    assert after == before, {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def test_scale_and_observability_toggle_converge(operator, namespace):
    plane = operator.plane
    env = sample()
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace, "Ready")
    scaled = copy.deepcopy(env)
    scaled["spec"].setdefault("postgres", {})["replicas"] = 2 if env["spec"].get("postgres", {}).get("replicas", 3) != 2 else 3
    scaled["spec"].setdefault("observability", {})["enabled"] = True
    apply(plane, scaled, namespace)
    want = scaled["spec"]["postgres"]["replicas"]
    wait_until(lambda: kget(plane, "statefulset", "dev-postgres", "-n", namespace)["spec"]["replicas"] == want,
               timeout=60, what="postgres scaled")
    wait_until(lambda: any(o["metadata"]["labels"].get(constants.LABEL_COMPONENT) == "observability"
                           for o in children(plane, namespace)), timeout=60, what="observability objects")
    status = wait_until(lambda: (s := env_status(plane, namespace)).get("phase") == "Ready"
                        and s.get("observedGeneration") == kget(plane, "penv", "dev", "-n", namespace)["metadata"]["generation"]
                        and s, timeout=180, what="Ready at the new generation")
    assert status["components"]["postgres"]["desired"] == want
    assert status["components"]["observability"]["ready"] == status["components"]["observability"]["desired"] > 0
    # Disabling observability removes every observability object.
    scaled["spec"]["observability"]["enabled"] = False
    apply(plane, scaled, namespace)
    wait_until(lambda: not any(o["metadata"]["labels"].get(constants.LABEL_COMPONENT) == "observability"
                               for o in children(plane, namespace)), timeout=60, what="observability removed")


def test_delete_removes_children_by_garbage_collection(operator, namespace):
    plane = operator.plane
    apply(plane, sample(), namespace)
    wait_env_phase(plane, namespace, "Ready")
    assert children(plane, namespace)
    plane.kubectl("delete", "penv", "dev", "-n", namespace, "--wait=true", "--timeout=60s")
    wait_until(lambda: not children(plane, namespace), timeout=90, what="children garbage-collected")


def test_invalid_combination_is_refused_without_children(operator, namespace):
    plane = operator.plane
    env = sample()
    env["spec"]["redis"] = {"mode": "sentinel", "replicas": 1}
    apply(plane, env, namespace)
    status = wait_env_phase(plane, namespace, "Failed")
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "InvalidSpec"
    assert "spec.redis.replicas" in ready["message"]
    assert children(plane, namespace) == []
    # Fixing the spec converges.
    env["spec"]["redis"]["replicas"] = 3
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace, "Ready")


def test_restart_mid_provisioning_converges_without_duplicates(operator, namespace):
    plane = operator.plane
    operator.stop(kill=True)
    apply(plane, sample(), namespace)
    operator.start()
    # Kill it again as soon as it has written anything, then let a fresh one finish.
    wait_until(lambda: children(plane, namespace), timeout=60, what="first children")
    operator.stop(kill=True)
    operator.start()
    wait_env_phase(plane, namespace, "Ready")
    names = [(o["kind"], o["metadata"]["name"]) for o in children(plane, namespace)]
    assert len(names) == len(set(names))
    secrets = [o for o in children(plane, namespace) if o["kind"] == "Secret"]
    assert len(secrets) == 1


def test_degraded_when_members_are_lost(operator, namespace):
    plane = operator.plane
    apply(plane, sample(), namespace)
    wait_env_phase(plane, namespace, "Ready")
    # Lose a member for real: no node will take its replacement pod.
    plane.kubectl("cordon", "kwok-node-0")
    try:
        plane.kubectl("delete", "pod", "dev-etcd-0", "-n", namespace, "--wait=false")
        seen = {}

        def degraded():
            seen["status"] = env_status(plane, namespace)
            return seen["status"].get("phase") == "Degraded" and seen["status"]

        try:
            status = wait_until(degraded, timeout=90, what="Degraded")
        except AssertionError as err:
            sts = kget(plane, "statefulset", "dev-etcd", "-n", namespace).get("status")
            raise AssertionError(f"{err}; last status: {json.dumps(seen.get('status'))[:2000]}; "
                                 f"dev-etcd status: {json.dumps(sts)}") from None
        etcd_ready = {c["type"]: c for c in status["conditions"]}["EtcdReady"]
        assert etcd_ready["status"] == "False"
        assert status["components"]["etcd"]["ready"] < status["components"]["etcd"]["desired"]
    finally:
        plane.kubectl("uncordon", "kwok-node-0")
    wait_env_phase(plane, namespace, "Ready")


def test_etcd_member_count_change_is_refused_with_a_clear_condition(operator, namespace):
    plane = operator.plane
    env = sample()
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace, "Ready")
    members = kget(plane, "statefulset", "dev-etcd", "-n", namespace)["spec"]["replicas"]
    env["spec"]["etcd"]["replicas"] = members + 2
    apply(plane, env, namespace)
    stalled = wait_until(
        lambda: {c["type"]: c for c in env_status(plane, namespace).get("conditions", [])}.get("Stalled", {})
        .get("reason") == "EtcdScalingRefused" and env_status(plane, namespace), timeout=60, what="EtcdScalingRefused")
    cond = {c["type"]: c for c in stalled["conditions"]}["Stalled"]
    assert cond["status"] == "True" and f"set spec.etcd.replicas back to {members}" in cond["message"]
    assert kget(plane, "statefulset", "dev-etcd", "-n", namespace)["spec"]["replicas"] == members
    # Undoing the change lets the environment converge again.
    env["spec"]["etcd"]["replicas"] = members
    apply(plane, env, namespace)
    status = wait_until(lambda: (s := env_status(plane, namespace)).get("phase") == "Ready"
                        and {c["type"]: c for c in s["conditions"]}["Stalled"]["status"] == "False" and s,
                        timeout=180, what="converged after undo")
    assert status["observedGeneration"] == kget(plane, "penv", "dev", "-n", namespace)["metadata"]["generation"]
