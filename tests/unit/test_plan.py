"""The transition planner with plain data: desired children from the real renderers, "live"
children made from earlier renders the way the API server stores them."""

from __future__ import annotations

import copy

import pytest

from parity import constants
from parity.api import parse_environment
from parity.kube.apply import HASH_ANNOTATION, with_hash
from parity.plan import (
    APPLY,
    CREATE,
    REASON_ETCD_SCALING,
    REASON_IMMUTABLE,
    REASON_POSTGRES_MAJOR,
    REASON_STORAGE,
    REASON_WRITE,
    REFUSE,
    ROLL,
    Plan,
    contains,
    is_refused_write,
    plan_changes,
    refusal_for_write,
)
from parity.render.environment import build_children

SECRETS = {key: "x" for key in ("superuser-password", "replication-password", "app-password")}


def render(spec: dict, name: str = "dev") -> list[dict]:
    env = parse_environment(spec)
    return [with_hash(m) for m in build_children(name, "ns", "uid-1", env, secret_values=None)]


def stored(objects: list[dict]) -> list[dict]:
    """What the API server keeps: our fields plus defaults, quantities in canonical form."""
    result = []
    for obj in copy.deepcopy(objects):
        obj["metadata"]["resourceVersion"] = "1"
        spec = obj.get("spec") or {}
        if obj["kind"] == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec["revisionHistoryLimit"] = 10
            for claim in spec.get("volumeClaimTemplates", []):
                claim.update(apiVersion="v1", kind="PersistentVolumeClaim", status={"phase": "Pending"})
                claim["spec"]["volumeMode"] = "Filesystem"
                requests = claim["spec"]["resources"]["requests"]
                requests["storage"] = {"1024Mi": "1Gi"}.get(requests["storage"], requests["storage"])
            for container in spec["template"]["spec"]["containers"]:
                container["terminationMessagePath"] = "/dev/termination-log"
                container["imagePullPolicy"] = "IfNotPresent"
        if obj["kind"] == "Service" and "clusterIP" not in spec:
            spec["clusterIP"] = "10.0.0.7"
        result.append(obj)
    return result


def plan(new_spec: dict, old_spec: dict | None = None, **kwargs) -> Plan:
    live = stored(render(old_spec if old_spec is not None else new_spec))
    return plan_changes(render(new_spec), live, env_name="dev", hash_annotation=HASH_ANNOTATION, **kwargs)


def actions(result: Plan) -> dict[str, str]:
    return {f"{c.kind}/{c.name}": c.action for c in result.changes}


def test_nothing_changed_plans_nothing():
    result = plan({})
    assert result.changes == () and not result.refused


def test_a_new_environment_creates_every_child():
    desired = render({})
    result = plan_changes(desired, [], env_name="dev", hash_annotation=HASH_ANNOTATION)
    assert [c.action for c in result.changes] == [CREATE] * len(desired)
    assert not result.refused


def test_a_parameter_change_applies_the_config_map_without_refusal():
    result = plan({"postgres": {"parameters": {"work_mem": "8MB"}}}, {"postgres": {"parameters": {"work_mem": "4MB"}}})
    assert actions(result) == {"ConfigMap/dev-postgres-config": APPLY}
    assert not result.refused


def test_a_resource_change_rolls_the_statefulset():
    result = plan({"redis": {"resources": {"limits": {"memory": "1Gi"}}}}, {})
    assert actions(result) == {"StatefulSet/dev-redis": ROLL}
    assert result.names(ROLL) == ["StatefulSet/dev-redis"]


def test_scaling_postgres_applies_in_place():
    result = plan({"postgres": {"replicas": 5}}, {"postgres": {"replicas": 3}})
    assert actions(result)["StatefulSet/dev-postgres"] == APPLY
    assert not result.refused


def test_storage_size_change_is_refused_with_a_remediation():
    result = plan({"postgres": {"storage": {"size": "2Gi"}}}, {"postgres": {"storage": {"size": "1Gi"}}})
    assert actions(result) == {"StatefulSet/dev-postgres": REFUSE}
    assert result.reason == REASON_STORAGE
    assert "spec.postgres.storage.size changed from 1Gi to 2Gi" in result.message
    assert "set spec.postgres.storage.size back to 1Gi" in result.message


def test_the_same_size_in_other_units_is_not_a_change():
    # The API server stores 1024Mi as 1Gi; a spec saying 1024Mi again must not be refused.
    old = {"postgres": {"storage": {"size": "1024Mi"}}}
    live = stored(render(old))
    postgres = next(o for o in live if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "dev-postgres")
    assert postgres["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    desired = render({"postgres": {"storage": {"size": "1024Mi"}, "replicas": 2}})
    result = plan_changes(desired, live, env_name="dev", hash_annotation=HASH_ANNOTATION)
    assert not result.refused and actions(result)["StatefulSet/dev-postgres"] == APPLY


def test_storage_class_change_is_refused_both_ways():
    result = plan({"postgres": {"storage": {"storageClassName": "fast"}}}, {})
    assert result.reason == REASON_STORAGE
    assert "storageClassName changed from the cluster default to fast" in result.message
    back = plan({}, {"postgres": {"storage": {"storageClassName": "fast"}}})
    assert "set spec.postgres.storage.storageClassName back to fast" in back.message


def test_etcd_member_count_change_is_refused():
    result = plan({"etcd": {"replicas": 5}}, {"etcd": {"replicas": 3}})
    assert result.refused and result.reason == REASON_ETCD_SCALING
    assert "from 3 to 5" in result.message and "set spec.etcd.replicas back to 3" in result.message
    assert actions(result)["StatefulSet/dev-etcd"] == REFUSE


def test_etcd_count_is_only_refused_for_a_running_cluster():
    desired = render({"etcd": {"replicas": 5}})
    assert not plan_changes(desired, [], env_name="dev", hash_annotation=HASH_ANNOTATION).refused


def test_postgres_major_change_on_existing_data_is_refused():
    result = plan({"postgres": {"version": "16"}}, {"postgres": {"version": "15"}})
    assert result.reason == REASON_POSTGRES_MAJOR
    assert "set spec.postgres.version back to 15" in result.message and "pg_dumpall" in result.message


def test_several_refusals_are_all_reported():
    result = plan({"etcd": {"replicas": 5}, "postgres": {"version": "16", "storage": {"size": "5Gi"}}},
                  {"etcd": {"replicas": 3}, "postgres": {"version": "15"}})
    assert {r.reason for r in result.refusals} == {REASON_ETCD_SCALING, REASON_POSTGRES_MAJOR, REASON_STORAGE}
    assert result.reason == "ChangesRefused"
    assert result.message.count("; ") >= 2


@pytest.mark.parametrize("path, value", [
    (("spec", "serviceName"), "other"),
    (("spec", "selector"), {"matchLabels": {"app": "other"}}),
    (("spec", "podManagementPolicy"), "OrderedReady"),
])
def test_other_immutable_statefulset_fields_are_refused(path, value):
    desired = render({"etcd": {"resources": {"limits": {"cpu": "1"}}}})
    live = stored(render({}))
    etcd = next(o for o in desired if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "dev-etcd")
    live_etcd = next(o for o in live if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "dev-etcd")
    if path[-1] == "podManagementPolicy":
        live_etcd["spec"]["podManagementPolicy"] = value  # desired: Parallel
    else:
        etcd["spec"][path[-1]] = value
    result = plan_changes(desired, live, env_name="dev", hash_annotation=HASH_ANNOTATION)
    assert result.reason == REASON_IMMUTABLE
    assert f"StatefulSet dev-etcd: {'.'.join(path)} would change" in result.message


def test_a_service_turning_headless_is_refused():
    desired = render({})
    live = stored(desired)
    service = next(o for o in desired if o["kind"] == "Service" and o["spec"].get("clusterIP") == "None")
    live_service = next(o for o in live if o["metadata"]["name"] == service["metadata"]["name"]
                        and o["kind"] == "Service")
    live_service["spec"]["clusterIP"] = "10.0.0.9"
    live_service["metadata"]["annotations"][HASH_ANNOTATION] = "older"
    result = plan_changes(desired, live, env_name="dev", hash_annotation=HASH_ANNOTATION)
    assert result.reason == REASON_IMMUTABLE and "spec.clusterIP" in result.message


def test_contains_compares_quantities_by_value_and_ignores_server_defaults():
    assert contains({"cpu": "500m", "extra": 1}, {"cpu": "0.5"})
    assert contains({"memory": "1Gi"}, {"memory": "1024Mi"})
    assert not contains({"memory": "1Gi"}, {"memory": "2Gi"})
    assert not contains([{"a": 1}], [{"a": 1}, {"a": 2}])
    assert not contains(None, {"a": 1})
    assert contains({"a": 1}, {"a": None})


def test_write_refusals_are_4xx_that_retrying_does_not_change():
    assert [s for s in (400, 403, 404, 408, 409, 422, 429, 500, 503) if is_refused_write(s)] == [400, 403, 408, 422]
    refusal = refusal_for_write("StatefulSet", "dev-postgres", "apply", "422 Invalid: spec: Forbidden")
    assert refusal.reason == REASON_WRITE
    assert "refused to apply StatefulSet dev-postgres: 422 Invalid: spec: Forbidden" in refusal.message


def stalled(reason: str, generation: int) -> dict:
    return {"conditions": [{"type": constants.CONDITION_STALLED, "status": "True", "reason": reason,
                            "message": "the API server refused ...", "observedGeneration": generation}]}


def test_a_read_only_sync_keeps_a_write_refusal_of_the_same_generation():
    old, new = {"redis": {"replicas": 3}}, {"redis": {"replicas": 4}}
    kept = plan(new, old, previous_status=stalled(REASON_WRITE, 2), generation=2, may_write=False)
    assert kept.reason == REASON_WRITE and kept.message == "the API server refused ..."
    # A sync that may write retries; a newer generation, another reason or nothing pending clears it.
    assert not plan(new, old, previous_status=stalled(REASON_WRITE, 2), generation=2, may_write=True).refused
    assert not plan(new, old, previous_status=stalled(REASON_WRITE, 2), generation=3, may_write=False).refused
    assert not plan(new, old, previous_status=stalled("InvalidSpec", 2), generation=2, may_write=False).refused
    assert not plan(old, old, previous_status=stalled(REASON_WRITE, 2), generation=2, may_write=False).refused
