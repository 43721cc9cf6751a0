"""Children are ours only with our label AND a controller owner reference to the environment's
uid: what is pruned, counted and overwritten, and what happens when the credentials are lost.

The sync tests run `sync_environment` against a small in-memory API (`MemoryKube`): it keeps
objects by path, answers label-selected lists, applies by replacing the object, and records
every write, so a test can say exactly what the operator wrote and deleted."""

from __future__ import annotations

import copy
import uuid

import pytest

from parity import constants
from parity.guards import lost_credentials_message, resumes_after_refusal
from parity.kube.children import list_children, postgres_data_evidence, resolve_missing, select_prunable
from parity.kube.client import KubeError
from parity.kube.ownership import is_controlled_by_an_environment, is_owned_child, is_retained_credentials
from parity.kube.resources import ENVIRONMENT
from parity.reconcile import sync_environment

NS, ENV, UID = "team", "dev", "uid-dev"
SECRET = "dev-postgres-credentials"
OUR_LABELS = {constants.LABEL_ENVIRONMENT: ENV, constants.LABEL_MANAGED_BY: constants.MANAGED_BY}


def owner_ref(uid=UID, name=ENV, controller=True) -> dict:
    return {"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND, "name": name, "uid": uid,
            "controller": controller, "blockOwnerDeletion": True}


def obj(kind, name, *, labels=None, owners=None, api_version="v1", managers=(), **extra) -> dict:
    meta = {"name": name, "namespace": NS, "labels": dict(OUR_LABELS if labels is None else labels)}
    if owners:
        meta["ownerReferences"] = owners
    if managers:
        meta["managedFields"] = [{"manager": m, "operation": op} for m, op in managers]
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **extra}


# --- the one decision ----------------------------------------------------------------------------

def test_owned_needs_the_label_and_a_controller_reference_to_this_uid():
    assert is_owned_child(obj("ConfigMap", "a", owners=[owner_ref()]), ENV, UID)
    assert not is_owned_child(obj("ConfigMap", "a"), ENV, UID)  # label only: the user's
    assert not is_owned_child(obj("ConfigMap", "a", owners=[owner_ref(uid="other")]), ENV, UID)
    assert not is_owned_child(obj("ConfigMap", "a", owners=[owner_ref(controller=False)]), ENV, UID)
    assert not is_owned_child(obj("ConfigMap", "a", labels={constants.LABEL_ENVIRONMENT: "prod"},
                                  owners=[owner_ref()]), ENV, UID)
    assert not is_owned_child(obj("ConfigMap", "a", labels={}, owners=[owner_ref()]), ENV, UID)
    deployment_owned = obj("ConfigMap", "a", owners=[{**owner_ref(), "apiVersion": "apps/v1", "kind": "Deployment"}])
    assert not is_owned_child(deployment_owned, ENV, UID)
    assert not is_controlled_by_an_environment(deployment_owned)
    assert not is_owned_child(obj("ConfigMap", "a", owners=[owner_ref()]), ENV, "")


def test_retained_credentials_are_recognised_only_when_written_by_the_operator():
    retained = obj("Secret", SECRET, managers=[(constants.FIELD_MANAGER, "Apply")])
    assert is_retained_credentials(retained, ENV, SECRET)
    assert not is_retained_credentials(obj("Secret", SECRET, managers=[("kubectl", "Apply")]), ENV, SECRET)
    assert not is_retained_credentials(obj("Secret", "other", managers=[(constants.FIELD_MANAGER, "Apply")]),
                                       ENV, SECRET)
    assert not is_retained_credentials(obj("Secret", SECRET, owners=[owner_ref(uid="old")],
                                           managers=[(constants.FIELD_MANAGER, "Apply")]), ENV, SECRET)


def test_prune_selects_only_our_children_and_never_a_secret():
    desired = [obj("ConfigMap", "kept", owners=[owner_ref()])]
    ours_stale = obj("ConfigMap", "stale", owners=[owner_ref()])
    users = obj("ConfigMap", "users-own")  # our label, no owner reference
    other_env = obj("ConfigMap", "other", owners=[owner_ref(uid="uid-other")])
    secret = obj("Secret", SECRET, owners=[owner_ref()])
    live = [desired[0], ours_stale, users, other_env, secret]
    assert select_prunable(desired, live, ENV, UID) == [ours_stale]


def test_lost_credentials_message_only_with_evidence_of_data():
    assert lost_credentials_message(NS, ENV, SECRET, []) is None
    message = lost_credentials_message(NS, ENV, SECRET, ["StatefulSet dev-postgres exists"])
    assert f"Secret {NS}/{SECRET}" in message and "StatefulSet dev-postgres exists" in message
    assert "Restore the Secret from a backup" in message and "delete pvc -l" in message


# --- an in-memory API ----------------------------------------------------------------------------

class MemoryKube:
    def __init__(self):
        self.objects: dict[str, dict] = {}
        self.writes: list[tuple[str, str]] = []

    def put(self, path: str, body: dict) -> dict:
        body = copy.deepcopy(body)
        body["metadata"].setdefault("uid", str(uuid.uuid4()))
        self.objects[path] = body
        return body

    def get(self, path: str) -> dict | None:
        found = self.objects.get(path)
        return copy.deepcopy(found) if found is not None else None

    def request(self, method, path, *, body=None, query=None, content_type="application/json"):
        query = dict(query or [])
        if method == "GET":
            if path in self.objects:
                return copy.deepcopy(self.objects[path])
            prefix = path + "/"
            items = [copy.deepcopy(o) for p, o in self.objects.items()
                     if p.startswith(prefix) and "/" not in p[len(prefix):]]
            if "labelSelector" in query:
                key, _, value = query["labelSelector"].partition("=")
                items = [o for o in items if (o["metadata"].get("labels") or {}).get(key) == value]
            if items or path.endswith("s"):
                return {"items": items}
            raise KubeError(404, "NotFound", path)
        if method == "DELETE":
            self.writes.append(("DELETE", path))
            current = self.objects.get(path)
            if current is None:
                raise KubeError(404, "NotFound", path)
            wanted_uid = ((body or {}).get("preconditions") or {}).get("uid")
            if wanted_uid and wanted_uid != current["metadata"]["uid"]:
                raise KubeError(409, "Conflict", path)
            del self.objects[path]
            return {}
        if method == "PATCH" and path.endswith("/status"):
            target = self.objects[path[: -len("/status")]]
            target["status"] = _merge(target.get("status") or {}, body["status"])
            return copy.deepcopy(target)
        if method == "PATCH":  # server-side apply: the applied object, written by our manager
            self.writes.append(("APPLY", path))
            applied = copy.deepcopy(body)
            applied["metadata"]["managedFields"] = [{"manager": query["fieldManager"], "operation": "Apply"}]
            previous = self.objects.get(path)
            if previous is not None:
                applied["metadata"]["uid"] = previous["metadata"]["uid"]
            return self.put(path, applied)
        raise AssertionError(f"unexpected {method} {path}")


def _merge(before: dict, patch: dict) -> dict:
    out = dict(before)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def cm_path(name):
    return f"/api/v1/namespaces/{NS}/configmaps/{name}"


def secret_path(name):
    return f"/api/v1/namespaces/{NS}/secrets/{name}"


def new_cluster(spec: dict | None = None) -> MemoryKube:
    kube = MemoryKube()
    env = {"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND,
           "metadata": {"name": ENV, "namespace": NS, "uid": UID, "generation": 1}, "spec": spec or {}}
    kube.objects[ENVIRONMENT.object_path(ENV, NS)] = env
    return kube


def sync(kube, apply_changes=True):
    return sync_environment(kube, NS, ENV, apply_changes=apply_changes, now="2026-01-01T00:00:00Z")


def stalled(outcome) -> dict:
    return {c["type"]: c for c in outcome.status["conditions"]}[constants.CONDITION_STALLED]


# --- the sync ------------------------------------------------------------------------------------

def test_a_users_labelled_objects_are_never_pruned_overwritten_or_taken_for_our_secret():
    kube = new_cluster({"observability": {"enabled": True}})
    # The user's own objects, labelled for the environment (copied YAML), without an owner.
    kube.put(cm_path("users-notes"), obj("ConfigMap", "users-notes", data={"k": "v"}))
    kube.put(secret_path("users-token"), obj("Secret", "users-token", data={"t": "eA=="}))
    sync(kube)
    # Our credentials Secret was created although a labelled Secret existed.
    assert ("APPLY", secret_path(SECRET)) in kube.writes
    assert kube.objects[secret_path(SECRET)]["data"]["superuser-password"]
    # Switching observability off prunes our objects, not the user's.
    env = kube.objects[ENVIRONMENT.object_path(ENV, NS)]
    env["spec"] = {"observability": {"enabled": False}}
    outcome = sync(kube)
    deleted = [path for method, path in kube.writes if method == "DELETE"]
    assert deleted and all("users-" not in path for path in deleted), deleted
    assert any(label.startswith("-ConfigMap/") for label in outcome.applied), outcome.applied
    assert kube.objects[cm_path("users-notes")]["data"] == {"k": "v"}
    assert secret_path("users-token") in kube.objects
    assert not [w for w in kube.writes if "users-" in w[1]]


def test_a_child_name_taken_by_someone_elses_object_is_not_overwritten():
    kube = new_cluster()
    foreign = obj("ConfigMap", "dev-postgres-config", data={"mine": "yes"})
    kube.put(cm_path("dev-postgres-config"), foreign)
    outcome = sync(kube)
    assert ("APPLY", cm_path("dev-postgres-config")) not in kube.writes
    assert kube.objects[cm_path("dev-postgres-config")]["data"] == {"mine": "yes"}
    assert not outcome.applied  # nothing half-built
    condition = stalled(outcome)
    assert condition["status"] == "True" and condition["reason"] == "ChildNameConflict"
    assert "ConfigMap team/dev-postgres-config" in condition["message"]


def test_a_deleted_credentials_secret_is_not_regenerated_for_existing_data():
    kube = new_cluster()
    sync(kube)
    passwords = kube.objects[secret_path(SECRET)]["data"]
    assert passwords
    del kube.objects[secret_path(SECRET)]
    kube.writes.clear()
    for apply_changes in (True, False):
        outcome = sync(kube, apply_changes=apply_changes)
        assert ("APPLY", secret_path(SECRET)) not in kube.writes
        condition = stalled(outcome)
        assert condition["status"] == "True" and condition["reason"] == "CredentialsLost", condition
        assert "StatefulSet dev-postgres exists" in condition["message"]
        assert outcome.status["phase"] == "Failed"
    # Secrets never reach status: the message names the Secret, not its values.
    assert not any(v in str(outcome.status) for v in passwords.values())


def test_retained_volumes_without_their_secret_also_stop_password_generation():
    kube = new_cluster()
    kube.put(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/pgdata-dev-postgres-0",
             {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pgdata-dev-postgres-0"}})
    outcome = sync(kube)
    assert not kube.writes
    assert stalled(outcome)["reason"] == "CredentialsLost"
    assert "PersistentVolumeClaim pgdata-dev-postgres-0 exists" in stalled(outcome)["message"]


def test_retained_credentials_secret_is_reused_by_a_recreated_environment():
    kube = new_cluster()
    retained = obj("Secret", SECRET, managers=[(constants.FIELD_MANAGER, "Apply")], data={"superuser-password": "b2xk"})
    kube.put(secret_path(SECRET), retained)
    kube.put(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/pgdata-dev-postgres-0",
             {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pgdata-dev-postgres-0"}})
    outcome = sync(kube)
    assert ("APPLY", secret_path(SECRET)) not in kube.writes
    assert kube.objects[secret_path(SECRET)]["data"] == {"superuser-password": "b2xk"}
    assert stalled(outcome)["status"] == "False"
    assert ("APPLY", f"/apis/apps/v1/namespaces/{NS}/statefulsets/dev-postgres") in kube.writes


def test_first_start_generates_passwords():
    kube = new_cluster()
    outcome = sync(kube)
    assert ("APPLY", secret_path(SECRET)) in kube.writes
    assert stalled(outcome)["status"] == "False"


# --- the reads -----------------------------------------------------------------------------------

def test_list_children_keeps_ours_and_reads_secrets_by_name_only():
    kube = new_cluster()
    kube.put(cm_path("ours"), obj("ConfigMap", "ours", owners=[owner_ref()]))
    kube.put(cm_path("users"), obj("ConfigMap", "users"))
    kube.put(secret_path(SECRET), obj("Secret", SECRET, owners=[owner_ref()]))
    kube.put(secret_path("users-secret"), obj("Secret", "users-secret", owners=[owner_ref()]))
    names = {(o["kind"], o["metadata"]["name"]) for o in list_children(kube, NS, ENV, UID, secret_names=(SECRET,))}
    assert names == {("ConfigMap", "ours"), ("Secret", SECRET)}


def test_name_conflicts_and_data_evidence():
    kube = new_cluster()
    kube.put(cm_path("taken"), obj("ConfigMap", "taken", owners=[owner_ref(uid="old")]))
    desired = [obj("ConfigMap", "taken"), obj("ConfigMap", "free")]
    late, (conflict,) = resolve_missing(kube, desired, [], ENV, UID)
    assert late == []
    assert "ConfigMap team/taken" in conflict and "uid old" in conflict
    assert postgres_data_evidence(kube, NS, [], "dev-postgres", "pgdata-dev-postgres-") == []


@pytest.mark.parametrize("body,expected", [
    (obj("ConfigMap", "a", owners=[owner_ref(uid="any")]), True),
    (obj("ConfigMap", "a"), False),
])
def test_child_events_are_taken_only_from_environment_controlled_objects(body, expected):
    from parity.handlers.children import controlled_by_an_environment

    assert controlled_by_an_environment(body) is expected


def test_after_a_conflict_is_cleared_the_next_sync_of_any_trigger_applies():
    kube = new_cluster()
    kube.put(cm_path("dev-postgres-config"), obj("ConfigMap", "dev-postgres-config", labels={}))
    assert stalled(sync(kube))["reason"] == "ChildNameConflict"
    del kube.objects[cm_path("dev-postgres-config")]
    outcome = sync(kube, apply_changes=False)  # a timer or child event, not a spec change
    assert stalled(outcome)["status"] == "False"
    assert ("APPLY", cm_path("dev-postgres-config")) in kube.writes
    assert ("APPLY", f"/apis/apps/v1/namespaces/{NS}/statefulsets/dev-postgres") in kube.writes
    # And then back to normal: event-driven syncs do not write.
    kube.writes.clear()
    sync(kube, apply_changes=False)
    assert not kube.writes


def test_a_restored_secret_clears_the_stall():
    kube = new_cluster()
    sync(kube)
    saved = kube.objects.pop(secret_path(SECRET))
    assert stalled(sync(kube))["reason"] == "CredentialsLost"
    kube.objects[secret_path(SECRET)] = saved
    outcome = sync(kube, apply_changes=False)
    assert stalled(outcome)["status"] == "False"
    assert kube.objects[secret_path(SECRET)] == saved


def test_resumes_only_after_a_refusal_outside_the_spec():
    def status(reason, value="True"):
        return {"conditions": [{"type": constants.CONDITION_STALLED, "status": value, "reason": reason}]}

    assert resumes_after_refusal(status("CredentialsLost"))
    assert resumes_after_refusal(status("ChildNameConflict"))
    assert not resumes_after_refusal(status("InvalidSpec"))
    assert not resumes_after_refusal(status("ChildNameConflict", "False"))
    assert not resumes_after_refusal({})
