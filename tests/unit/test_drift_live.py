"""Live level: desired child objects vs live objects, via managedFields ownership."""

import base64
import copy

from parity import constants
from parity.api import parse_baseline
from parity.drift.live import evaluate_live

OURS = constants.FIELD_MANAGER


def statefulset(replicas=3, image="quay.io/coreos/etcd:v3.5.17", memory="1024Mi", env=None):
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "dev-etcd",
            "namespace": "team-a",
            "labels": {constants.LABEL_COMPONENT: "etcd", constants.LABEL_ENVIRONMENT: "dev"},
        },
        "spec": {
            "replicas": replicas,
            "serviceName": "dev-etcd",
            "template": {
                "metadata": {"labels": {constants.LABEL_COMPONENT: "etcd"}},
                "spec": {
                    "containers": [
                        {
                            "name": "etcd",
                            "image": image,
                            "env": env if env is not None else [{"name": "ETCD_NAME", "value": "x"}, {"name": "EMPTY", "value": ""}],
                            "ports": [{"containerPort": 2379, "name": "client"}],
                            "resources": {"limits": {"memory": memory}},
                        }
                    ]
                },
            },
        },
    }


OUR_FIELDS = {
    "f:metadata": {"f:labels": {f"f:{constants.LABEL_COMPONENT}": {}, f"f:{constants.LABEL_ENVIRONMENT}": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:serviceName": {},
        "f:template": {
            "f:metadata": {"f:labels": {f"f:{constants.LABEL_COMPONENT}": {}}},
            "f:spec": {
                "f:containers": {
                    'k:{"name":"etcd"}': {
                        ".": {},
                        "f:env": {'k:{"name":"ETCD_NAME"}': {".": {}, "f:name": {}, "f:value": {}}},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {'k:{"containerPort":2379,"protocol":"TCP"}': {".": {}, "f:containerPort": {}, "f:name": {}}},
                        "f:resources": {"f:limits": {"f:memory": {}}},
                    }
                }
            },
        },
    },
}


def entry(manager, fields, operation="Update", subresource=None, time="2025-01-01T00:00:00Z"):
    e = {"manager": manager, "operation": operation, "apiVersion": "apps/v1", "time": time, "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        e["subresource"] = subresource
    return e


def live_of(desired, *entries, mutate=None):
    obj = copy.deepcopy(desired)
    # What the API server adds: defaults (no manager) and status.
    obj["metadata"]["uid"] = "1234"
    obj["spec"]["podManagementPolicy"] = "OrderedReady"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    # An empty env value is dropped (omitempty); the item stays.
    obj["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {k: v for k, v in e.items() if v != ""} for e in obj["spec"]["template"]["spec"]["containers"][0]["env"]
    ]
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "1Gi"
    obj["status"] = {"replicas": 3, "readyReplicas": 3}
    obj["metadata"]["managedFields"] = [entry(OURS, OUR_FIELDS, operation="Apply")] + list(entries)
    if mutate:
        mutate(obj)
    return obj


def by_path(findings):
    return {f.path: f for f in findings}


def test_untouched_object_has_no_drift():
    desired = statefulset()
    controller = entry("kube-controller-manager", {"f:status": {"f:replicas": {}, "f:readyReplicas": {}}}, subresource="status")
    assert evaluate_live([desired], [live_of(desired, controller)], OURS) == []


def test_kubectl_scale_is_modified():
    desired = statefulset(replicas=3)
    scale = entry("kubectl", {"f:spec": {"f:replicas": {}}}, subresource="scale")
    live = live_of(desired, scale, mutate=lambda o: o["spec"].__setitem__("replicas", 5))
    [f] = evaluate_live([desired], [live], OURS)
    assert f.path == "live.StatefulSet.spec.replicas"
    assert (f.level, f.change, f.local, f.baseline) == ("live", "modified", 5, 3)
    assert (f.kind, f.name, f.manager, f.component) == ("StatefulSet", "dev-etcd", "kubectl", "etcd")
    assert f.severity == "warning"
    assert "StatefulSet/dev-etcd" in f.remediation and "enforce" in f.remediation
    assert f.to_dict()["manager"] == "kubectl"


def test_kubectl_edit_image_and_added_container():
    desired = statefulset()
    edit = entry("kubectl-edit", {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"etcd"}': {"f:image": {}},
        'k:{"name":"debug"}': {".": {}, "f:name": {}, "f:image": {}},
    }}}}})

    def mutate(o):
        containers = o["spec"]["template"]["spec"]["containers"]
        containers[0]["image"] = "quay.io/coreos/etcd:v3.6.0"
        containers.append({"name": "debug", "image": "busybox"})

    found = by_path(evaluate_live([desired], [live_of(desired, edit, mutate=mutate)], OURS))
    assert set(found) == {
        "live.StatefulSet.spec.template.spec.containers[name=etcd].image",
        "live.StatefulSet.spec.template.spec.containers[name=debug]",
    }
    image = found["live.StatefulSet.spec.template.spec.containers[name=etcd].image"]
    assert (image.change, image.local, image.baseline, image.manager) == (
        "modified", "quay.io/coreos/etcd:v3.6.0", "quay.io/coreos/etcd:v3.5.17", "kubectl-edit")
    debug = found["live.StatefulSet.spec.template.spec.containers[name=debug]"]
    assert (debug.change, debug.local, debug.baseline) == ("added", {"name": "debug", "image": "busybox"}, None)


def test_labels_annotations_and_kubectl_bookkeeping():
    desired = statefulset()
    label = entry("kubectl-label", {"f:metadata": {"f:labels": {"f:owner": {}}}})
    annotate = entry("kubectl-annotate", {"f:metadata": {"f:annotations": {".": {}, "f:note": {}}}})
    client_apply = entry("kubectl-client-side-apply", {"f:metadata": {"f:annotations": {
        ".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    restart = entry("kubectl-rollout", {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {
        ".": {}, "f:kubectl.kubernetes.io/restartedAt": {}}}}}})

    def mutate(o):
        o["metadata"]["labels"]["owner"] = "bob"
        o["metadata"]["annotations"] = {"note": "hi", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
        o["spec"]["template"]["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "2025-01-02T00:00:00Z"}

    found = by_path(evaluate_live([desired], [live_of(desired, label, annotate, client_apply, restart, mutate=mutate)], OURS))
    restarted = 'live.StatefulSet.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]'
    assert set(found) == {"live.StatefulSet.metadata.labels.owner", "live.StatefulSet.metadata.annotations.note", restarted}
    assert found["live.StatefulSet.metadata.labels.owner"].local == "bob"
    assert found["live.StatefulSet.metadata.labels.owner"].manager == "kubectl-label"
    assert found[restarted].severity == "info"
    assert found[restarted].change == "added"


def test_ignored_managers_subresources_and_our_own_manager():
    desired = statefulset()
    entries = [
        entry("kube-controller-manager", {"f:spec": {"f:replicas": {}}}, subresource="scale"),  # an autoscaler
        entry("kubelet", {"f:metadata": {"f:labels": {"f:x": {}}}}),
        entry("kube-scheduler", {"f:metadata": {"f:labels": {"f:y": {}}}}),
        entry("someone", {"f:status": {"f:replicas": {}}}, subresource="status"),
        entry(OURS, {"f:spec": {"f:replicas": {}}}, operation="Apply"),
    ]

    def mutate(o):
        o["spec"]["replicas"] = 7
        o["metadata"]["labels"].update(x="1", y="2")

    assert evaluate_live([desired], [live_of(desired, *entries, mutate=mutate)], OURS) == []
    # The same change by another manager is drift; a custom ignore list is honoured.
    other = entry("helm", {"f:spec": {"f:replicas": {}}})
    assert len(evaluate_live([desired], [live_of(desired, other, mutate=mutate)], OURS)) == 1
    assert evaluate_live([desired], [live_of(desired, other, mutate=mutate)], OURS, ignored_managers={"helm"}) == []


def test_same_value_by_another_manager_and_quantities_are_not_drift():
    desired = statefulset(memory="1024Mi")
    shared = entry("kubectl-edit", {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
        'k:{"name":"etcd"}': {"f:resources": {"f:limits": {"f:memory": {}}}}}}}}})
    # live has replicas 3 (same) and memory 1Gi (same as 1024Mi)
    assert evaluate_live([desired], [live_of(desired, shared)], OURS) == []


def test_removed_field_is_reported_without_ownership():
    desired = statefulset(env=[{"name": "ETCD_NAME", "value": "x"}, {"name": "ETCD_DEBUG", "value": "1"}])
    live = live_of(desired)
    live["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "ETCD_NAME", "value": "x"}]
    del live["spec"]["serviceName"]
    found = by_path(evaluate_live([desired], [live], OURS))
    assert set(found) == {
        "live.StatefulSet.spec.template.spec.containers[name=etcd].env[name=ETCD_DEBUG]",
        "live.StatefulSet.spec.serviceName",
    }
    gone = found["live.StatefulSet.spec.serviceName"]
    assert (gone.change, gone.local, gone.baseline, gone.manager) == ("removed", None, "dev-etcd", None)


def test_zero_values_the_api_server_drops_are_not_removed():
    desired = statefulset()
    desired["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data", "readOnly": False}]
    desired["spec"]["template"]["metadata"]["creationTimestamp"] = None
    live = live_of(desired)
    live["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    del live["spec"]["template"]["metadata"]["creationTimestamp"]
    assert evaluate_live([desired], [live], OURS) == []


def test_secrets_are_redacted():
    desired = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "dev-postgres", "namespace": "team-a", "labels": {constants.LABEL_COMPONENT: "postgres"}},
        "stringData": {"password": "s3cret-desired"},
    }
    live = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "dev-postgres", "namespace": "team-a", "labels": {constants.LABEL_COMPONENT: "postgres"},
                     "managedFields": [entry(OURS, {"f:data": {"f:password": {}}}, operation="Apply"),
                                       entry("kubectl-edit", {"f:data": {"f:password": {}, "f:extra": {}}})]},
        "data": {"password": base64.b64encode(b"s3cret-live").decode(), "extra": base64.b64encode(b"also-secret").decode()},
        "type": "Opaque",
    }
    found = by_path(evaluate_live([desired], [live], OURS))
    assert set(found) == {"live.Secret.data.password", "live.Secret.data.extra"}
    for f in found.values():
        assert f.component == "postgres"
        text = repr(f.to_dict())
        for secret in ("s3cret", "also-secret", live["data"]["password"], live["data"]["extra"]):
            assert secret not in text
    assert found["live.Secret.data.password"].local == constants.REDACTED
    assert found["live.Secret.data.password"].baseline == constants.REDACTED
    assert found["live.Secret.data.extra"].baseline is None
    # Same secret value: no drift.
    live["data"]["password"] = base64.b64encode(b"s3cret-desired").decode()
    assert set(by_path(evaluate_live([desired], [live], OURS))) == {"live.Secret.data.extra"}


def test_garbage_is_skipped():
    desired = statefulset()
    garbage = live_of(desired)
    garbage["metadata"]["managedFields"] += [
        "not-a-dict",
        {"manager": "x", "operation": "Update", "fieldsV1": {"k:not-json": {}, "q:odd": {}, "f:spec": "nonsense"}},
        {"manager": "y", "operation": "Update", "fieldsV1": None},
        {"manager": "z", "operation": "Delete", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
    ]
    garbage["spec"]["replicas"] = 9  # owned by us, changed: not visible through ownership, not drift
    assert evaluate_live([desired, "junk"], [garbage, 42], OURS) == []
    assert evaluate_live([], [], OURS) == []


def _service(name="dev-postgres-primary"):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "team-a",
                         "labels": {constants.LABEL_COMPONENT: "postgres", constants.LABEL_ENVIRONMENT: "dev"}},
            "spec": {"ports": [{"port": 5432}]}}


def _configmap():
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dev-patroni", "namespace": "team-a",
                         "labels": {constants.LABEL_COMPONENT: "postgres", constants.LABEL_ENVIRONMENT: "dev"}},
            "data": {"a": "b"}}


def test_a_deleted_child_is_a_missing_finding():
    """Issue 10.3: a desired object with no live counterpart was skipped, so a deleted Service
    left the environment without any finding."""
    desired = [statefulset(), _service(), _configmap()]
    found = {f.kind: f for f in evaluate_live(desired, [live_of(desired[0])], OURS)}
    assert set(found) == {"Service", "ConfigMap"}
    svc = found["Service"]
    assert (svc.path, svc.change, svc.level, svc.name, svc.component) == (
        "live.Service", "missing", "live", "dev-postgres-primary", "postgres")
    assert svc.local is None and svc.baseline == "Service/dev-postgres-primary" and svc.manager is None
    assert svc.severity == "critical"
    assert "enforce" in svc.remediation and "kubectl annotate penv/dev -n team-a" in svc.remediation
    # Built-in rules: workloads and Services critical, the rest like any live finding.
    assert found["ConfigMap"].severity == "warning"
    [sts] = evaluate_live(desired, [live_of(desired[0]) | {"kind": "Other"}, _service(), _configmap()], OURS)
    assert (sts.path, sts.kind, sts.severity) == ("live.StatefulSet", "StatefulSet", "critical")


def test_missing_children_are_rated_by_the_baseline_rules():
    desired = [_service(), _configmap()]
    own_rules = parse_baseline({"defaultSeverity": "info", "rules": [{"path": "postgres.version", "severity": "critical"}]})
    found = {f.kind: f.severity for f in evaluate_live(desired, [], OURS, baseline=own_rules)}
    # No rule matches: workloads and Services stay critical, anything else gets defaultSeverity.
    assert found == {"Service": "critical", "ConfigMap": "info"}
    relaxed = parse_baseline({"rules": [{"path": "live.*", "severity": "info", "remediation": "gone: {name}"}]})
    found = {f.kind: f for f in evaluate_live(desired, [], OURS, baseline=relaxed)}
    assert found["Service"].severity == "info" and found["Service"].remediation == "gone: dev-postgres-primary"


def test_latest_manager_is_reported_and_baseline_rules_apply():
    desired = statefulset()
    first = entry("kubectl-edit", {"f:spec": {"f:replicas": {}}}, time="2025-01-01T00:00:00Z")
    second = entry("kubectl", {"f:spec": {"f:replicas": {}}}, subresource="scale", time="2025-02-01T00:00:00Z")
    live = live_of(desired, second, first, mutate=lambda o: o["spec"].__setitem__("replicas", 1))
    bl = parse_baseline({"rules": [{"path": "live.StatefulSet.spec.replicas", "severity": "critical",
                                    "remediation": "{kind}/{name} scaled by {manager}"}]})
    [f] = evaluate_live([desired], [live], OURS, baseline=bl)
    assert f.manager == "kubectl"
    assert f.severity == "critical"
    assert f.remediation == "StatefulSet/dev-etcd scaled by kubectl"


def test_component_from_label_words():
    desired = statefulset()
    desired["metadata"]["labels"][constants.LABEL_COMPONENT] = "grafana"
    label = entry("kubectl-label", {"f:metadata": {"f:labels": {"f:owner": {}}}})
    live = live_of(desired, label, mutate=lambda o: o["metadata"]["labels"].__setitem__("owner", "me"))
    [f] = evaluate_live([desired], [live], OURS)
    assert f.component == "observability"


def test_missing_and_present_objects_split_the_desired_ones():
    from parity.drift.live import missing_objects, present_objects

    desired = [statefulset(), _service(), _configmap()]
    live = [live_of(desired[0]), _configmap()]
    assert missing_objects(desired, live) == [("Service", "dev-postgres-primary")]
    assert [o["kind"] for o in present_objects(desired, live)] == ["StatefulSet", "ConfigMap"]
    other_namespace = _service()
    other_namespace["metadata"]["namespace"] = "team-b"
    assert missing_objects([_service()], [other_namespace]) == [("Service", "dev-postgres-primary")]


# --- findings remembered per (object state, desired hash) ------------------------------------------

def _served(desired, *entries, version="41", mutate=None):
    """A desired object with its hash annotation, and its live counterpart as the API server
    stores it (uid and resourceVersion): the inputs the operator's syncs pass."""
    from parity.kube.apply import with_hash

    want = with_hash(desired)
    live = live_of(want, *entries, mutate=mutate)
    live["metadata"]["resourceVersion"] = version
    return want, live


def test_findings_of_an_unchanged_object_are_remembered_and_match_a_fresh_evaluation(monkeypatch):
    from parity.drift import live as live_module

    scale = entry("kubectl", {"f:spec": {"f:replicas": {}}}, subresource="scale")
    want, live = _served(statefulset(replicas=3), scale, version="7001",
                         mutate=lambda o: o["spec"].__setitem__("replicas", 5))
    walks = []
    real = live_module._evaluate_object
    monkeypatch.setattr(live_module, "_evaluate_object", lambda *a: walks.append(1) or real(*a))
    first = evaluate_live([want], [live], OURS)
    again = evaluate_live([want], [copy.deepcopy(live)], OURS)
    assert len(walks) == 1  # the second sync's object had the same uid, resourceVersion and hash
    assert [f.to_dict() for f in again] == [f.to_dict() for f in first]
    [f] = again
    assert (f.path, f.local, f.baseline, f.manager) == ("live.StatefulSet.spec.replicas", 5, 3, "kubectl")


def test_a_new_resource_version_or_desired_hash_is_evaluated_afresh(monkeypatch):
    from parity.drift import live as live_module

    walks = []
    real = live_module._evaluate_object
    monkeypatch.setattr(live_module, "_evaluate_object", lambda *a: walks.append(1) or real(*a))
    want, live = _served(statefulset(), version="8001")
    assert evaluate_live([want], [live], OURS) == []
    # Edited by hand: a new resourceVersion, and the edit is found.
    edit = entry("kubectl-edit", {"f:spec": {"f:replicas": {}}})
    _, edited = _served(statefulset(), edit, version="8002", mutate=lambda o: o["spec"].__setitem__("replicas", 1))
    assert [f.path for f in evaluate_live([want], [edited], OURS)] == ["live.StatefulSet.spec.replicas"]
    # The spec asks for something else (a new hash) of the same stored object.
    changed, _ = _served(statefulset(replicas=1))
    assert [f.path for f in evaluate_live([changed], [edited], OURS)] == []
    # Without a resourceVersion (objects read from files) nothing is remembered.
    del live["metadata"]["resourceVersion"]
    evaluate_live([want], [live], OURS)
    evaluate_live([want], [live], OURS)
    assert len(walks) == 5


def test_the_memory_of_findings_is_bounded_least_recently_used_first_out():
    from parity.drift.live import _ObjectFindings

    memo = _ObjectFindings(size=2)
    memo.put(("a",), [])
    memo.put(("b",), [])
    assert memo.get(("a",)) == ()  # a is now the most recently used
    memo.put(("c",), [])
    assert memo.get(("b",)) is None and memo.get(("a",)) == () and memo.get(("c",)) == ()
