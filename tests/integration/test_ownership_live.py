"""Children that are truly ours, against the real API server and the operator as a process:
a user's objects that carry our environment label are never pruned, overwritten or taken for
the credentials Secret; a child name taken by someone else's object stalls the environment
instead of being overwritten; a lost credentials Secret stalls it instead of being re-created
with new passwords."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from support import REPO_ROOT, kget, wait_env_phase, wait_until

from parity import constants

pytestmark = pytest.mark.integration

OUR_LABELS = {constants.LABEL_ENVIRONMENT: "dev", constants.LABEL_MANAGED_BY: constants.MANAGED_BY}


def sample() -> dict:
    return yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())


def apply(plane, manifest: dict, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def status(plane, namespace) -> dict:
    return kget(plane, "penv", "dev", "-n", namespace).get("status") or {}


def condition(plane, namespace, ctype) -> dict:
    return {c["type"]: c for c in status(plane, namespace).get("conditions") or []}.get(ctype) or {}


def exists(plane, kind, name, namespace) -> bool:
    return plane.kubectl("get", kind, name, "-n", namespace, check=False).returncode == 0



def wait_stalled(plane, namespace, reason, timeout=60):
    return wait_until(lambda: (c := condition(plane, namespace, "Stalled")).get("reason") == reason
                      and c.get("status") == "True" and c, timeout=timeout, what=f"Stalled={reason}")


def user_object(kind: str, name: str, namespace: str, **body) -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace,
                                                          "labels": dict(OUR_LABELS)}, **body}


def test_users_labelled_objects_are_never_pruned_and_do_not_stand_in_for_our_secret(operator, namespace):
    plane = operator.plane
    # Created before the environment, labelled as its children (a copied manifest does that).
    apply(plane, user_object("ConfigMap", "notes", namespace, data={"owner": "me"}), namespace)
    apply(plane, user_object("Secret", "my-token", namespace, stringData={"token": "t"}), namespace)
    env = sample()
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace)
    secret = kget(plane, "secret", "dev-postgres-credentials", "-n", namespace)
    assert secret["data"]["superuser-password"]
    env_uid = kget(plane, "penv", "dev", "-n", namespace)["metadata"]["uid"]
    assert [r["uid"] for r in secret["metadata"]["ownerReferences"]] == [env_uid]

    # Switching observability off prunes our observability objects, and only those.
    assert exists(plane, "deployment", "dev-prometheus", namespace)
    off = copy.deepcopy(env)
    off["spec"]["observability"]["enabled"] = False
    apply(plane, off, namespace)
    wait_until(lambda: not exists(plane, "deployment", "dev-prometheus", namespace), timeout=60,
               what="observability pruned")
    wait_env_phase(plane, namespace)
    notes = kget(plane, "configmap", "notes", "-n", namespace)
    assert notes["data"] == {"owner": "me"}
    assert all(m.get("manager") != constants.FIELD_MANAGER for m in notes["metadata"].get("managedFields", []))
    assert exists(plane, "secret", "my-token", namespace)


def test_a_child_name_taken_by_a_users_object_stalls_instead_of_overwriting(operator, namespace):
    plane = operator.plane
    apply(plane, user_object("ConfigMap", "dev-redis-config", namespace, data={"owner": "me"}), namespace)
    apply(plane, sample(), namespace)
    stalled = wait_stalled(plane, namespace, "ChildNameConflict")
    assert f"ConfigMap {namespace}/dev-redis-config" in stalled["message"]
    assert kget(plane, "configmap", "dev-redis-config", "-n", namespace)["data"] == {"owner": "me"}
    assert not exists(plane, "statefulset", "dev-postgres", namespace)  # nothing half-built
    # Once the user moves their object away, the environment is built without a spec change
    # (the timer's sync picks it up).
    plane.kubectl("delete", "configmap", "dev-redis-config", "-n", namespace)
    wait_until(lambda: status(plane, namespace).get("phase") == "Ready", timeout=150,
               what="penv/dev Ready after the conflict was cleared")
    assert condition(plane, namespace, "Stalled")["status"] == "False"
    ours = kget(plane, "configmap", "dev-redis-config", "-n", namespace)
    env_uid = kget(plane, "penv", "dev", "-n", namespace)["metadata"]["uid"]
    assert [r["uid"] for r in ours["metadata"]["ownerReferences"]] == [env_uid]


def test_a_lost_credentials_secret_stalls_and_is_not_regenerated(operator, namespace):
    plane = operator.plane
    env = sample()
    apply(plane, env, namespace)
    wait_env_phase(plane, namespace)
    saved = kget(plane, "secret", "dev-postgres-credentials", "-n", namespace)
    plane.kubectl("delete", "secret", "dev-postgres-credentials", "-n", namespace)
    # A spec change makes the operator apply everything it renders.
    env["spec"]["drift"]["failOn"] = "warning"
    apply(plane, env, namespace)
    stalled = wait_stalled(plane, namespace, "CredentialsLost")
    assert "StatefulSet dev-postgres exists" in stalled["message"] and "Restore the Secret" in stalled["message"]
    # The refusal happens instead of applying: the sync that wrote it re-created nothing.
    assert not exists(plane, "secret", "dev-postgres-credentials", namespace)
    for value in saved["data"].values():
        assert value not in json.dumps(status(plane, namespace))
    events = kget(plane, "events", "-n", namespace, "--field-selector", "reason=CredentialsLost")["items"]
    assert events and events[0]["type"] == "Warning"

    # Restoring the backup as the message says clears it; the passwords are the old ones.
    restored = {"apiVersion": "v1", "kind": "Secret",
                "metadata": {k: saved["metadata"][k] for k in ("name", "labels", "ownerReferences")},
                "type": saved["type"], "data": saved["data"]}
    plane.kubectl("apply", "--server-side", f"--field-manager={constants.FIELD_MANAGER}", "-n", namespace, "-f", "-",
                  input=json.dumps(restored))
    # Secrets are not watched: the timer's sync notices the restore.
    wait_until(lambda: condition(plane, namespace, "Stalled").get("status") == "False", timeout=150,
               what="Stalled cleared after the restore")
    assert kget(plane, "secret", "dev-postgres-credentials", "-n", namespace)["data"] == saved["data"]
