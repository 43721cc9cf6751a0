"""sync_environment's two ways of refusing, against an in-memory API: the planner refuses before
anything is written, and a write the API server refuses ends the sync with Stalled=True and the
server's message, applying nothing after it."""

from __future__ import annotations

import copy

from parity import constants
from parity.kube import resources
from parity.kube.client import KubeError
from parity.reconcile import sync_environment

NAMESPACE, NAME = "ns", "dev"
ENV_PATH = resources.ENVIRONMENT.object_path(NAME, NAMESPACE)


class FakeKube:
    """Children by (kind, name); apply-patches store the manifest; `refuse` maps a child
    ("Kind/name") to the 4xx status its apply gets."""

    def __init__(self, spec: dict, refuse: dict[str, int] | None = None):
        self.env = {"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND,
                    "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "uid-1", "generation": 1},
                    "spec": spec}
        self.children: dict[tuple[str, str], dict] = {}
        self.refuse = refuse or {}
        self.applied: list[str] = []
        self.status_patches: list[dict] = []

    def get(self, path: str):
        if path == ENV_PATH:
            return copy.deepcopy(self.env)
        for (kind, name), obj in self.children.items():  # a child read by name (the Secret)
            resource = next(r for r in resources.CHILD_RESOURCES if r.kind == kind)
            if resource.object_path(name, NAMESPACE) == path:
                return copy.deepcopy(obj)
        return None

    def request(self, method: str, path: str, *, body=None, query=None, content_type="application/json"):
        if method == "GET":
            resource = next((r for r in resources.CHILD_RESOURCES if r.collection_path(NAMESPACE) == path), None)
            if resource is None:  # other lists (PersistentVolumeClaims): none here
                return {"items": []}
            return {"items": [copy.deepcopy(o) for (kind, _), o in self.children.items() if kind == resource.kind]}
        if method == "PATCH" and path == ENV_PATH + "/status":
            self.status_patches.append(body["status"])
            status = self.env.setdefault("status", {})
            for key, value in body["status"].items():
                if value is None:
                    status.pop(key, None)
                else:
                    status[key] = value
            return self.env
        if method == "PATCH":
            name = body["metadata"]["name"]
            status = self.refuse.get(f"{body['kind']}/{name}")
            if status:
                raise KubeError(status, "Invalid", f"{status} Invalid: {body['kind']} \"{name}\" is invalid: spec: Forbidden")
            self.children[(body["kind"], name)] = copy.deepcopy(body)
            self.applied.append(f"{body['kind']}/{name}")
            return body
        raise AssertionError(f"unexpected {method} {path}")


def conditions(kube: FakeKube) -> dict[str, dict]:
    return {c["type"]: c for c in kube.env["status"]["conditions"]}


def test_a_refused_write_stalls_with_the_servers_message_and_applies_nothing_after_it():
    kube = FakeKube({}, refuse={"StatefulSet/dev-postgres": 422})
    outcome = sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:00Z")
    stalled = conditions(kube)[constants.CONDITION_STALLED]
    assert stalled["status"] == "True" and stalled["reason"] == "WriteRefused"
    assert "refused to apply StatefulSet dev-postgres: 422 Invalid" in stalled["message"]
    assert "is invalid: spec: Forbidden" in stalled["message"]
    # The children rendered after the refused one were not written.
    order = [f"{m['kind']}/{m['metadata']['name']}" for m in _render_order()]
    refused_at = order.index("StatefulSet/dev-postgres")
    assert kube.applied == order[:refused_at]
    assert [e.reason for e in outcome.events] == ["WriteRefused"]


def test_a_read_only_sync_keeps_the_write_refusal():
    kube = FakeKube({}, refuse={"StatefulSet/dev-postgres": 422})
    sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:00Z")
    applied = list(kube.applied)
    sync_environment(kube, NAMESPACE, NAME, apply_changes=False, now="2026-01-01T00:00:10Z")
    assert conditions(kube)[constants.CONDITION_STALLED]["reason"] == "WriteRefused"
    assert kube.applied == applied


def test_a_transient_error_is_raised_for_a_retry():
    kube = FakeKube({}, refuse={"StatefulSet/dev-postgres": 429})
    try:
        sync_environment(kube, NAMESPACE, NAME, apply_changes=True)
    except KubeError as err:
        assert err.status == 429
    else:
        raise AssertionError("a 429 must reach kopf as a temporary error")


def test_the_planner_refuses_a_storage_change_before_anything_is_written():
    kube = FakeKube({"postgres": {"storage": {"size": "1Gi"}}})
    sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:00Z")
    before = copy.deepcopy(kube.children)
    kube.env["spec"] = {"postgres": {"storage": {"size": "2Gi"}, "parameters": {"work_mem": "8MB"}}}
    kube.env["metadata"]["generation"] = 2
    kube.applied.clear()
    sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:01:00Z")
    stalled = conditions(kube)[constants.CONDITION_STALLED]
    assert stalled["status"] == "True" and stalled["reason"] == "StorageChangeRefused"
    assert "set spec.postgres.storage.size back to 1Gi" in stalled["message"]
    assert kube.applied == [] and kube.children == before  # not even the ConfigMap
    assert kube.env["status"]["observedGeneration"] == 2


def _render_order() -> list[dict]:
    from parity.api import parse_environment
    from parity.render.environment import build_children
    from parity.render.postgres import generate_passwords

    return build_children(NAME, NAMESPACE, "uid-1", parse_environment({}), secret_values=generate_passwords())


def test_a_spec_stored_before_the_schema_refused_it_stalls_instead_of_failing_silently():
    kube = FakeKube({"redis": {"config": {"maxmemory": "1mb\nslaveof 10.0.0.1 6379"}}})
    outcome = sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:00Z")
    stalled = conditions(kube)[constants.CONDITION_STALLED]
    assert stalled["status"] == "True" and stalled["reason"] == "InvalidSpec"
    assert "spec.redis.config.maxmemory: must not contain a newline" in stalled["message"]
    assert kube.env["status"]["phase"] == "Failed"
    assert kube.applied == [] and [e.reason for e in outcome.events] == ["InvalidSpec"]


def test_rendering_uses_every_password_of_a_new_secret_and_only_the_keys_an_older_secret_holds():
    import base64

    from parity.reconcile import credentials_keys

    def secret(*keys):
        return {"kind": "Secret", "data": {k: base64.b64encode(b"x").decode() for k in keys}}

    assert credentials_keys([], {"redis-password": "new"}) is None
    assert credentials_keys([secret("superuser-password", "redis-password")], None) == {
        "superuser-password", "redis-password"}
    # Generated before Redis had a password: switching members one by one would break them.
    assert credentials_keys([secret("superuser-password")], None) == {"superuser-password"}
