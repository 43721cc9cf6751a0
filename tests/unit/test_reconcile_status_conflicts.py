"""The status write is conditional on the resourceVersion the sync read: a merge patch replaces
status.conditions whole, so one computed from an older read would silently drop a condition
another writer added in between (a lost update). On 409 the sync runs again from the new state."""

from __future__ import annotations

import copy

import pytest

from parity import constants
from parity.kube import resources
from parity.kube.client import KubeError
from parity.reconcile import STATUS_CONFLICT_ATTEMPTS, sync_environment

NAMESPACE, NAME = "ns", "dev"
ENV_PATH = resources.ENVIRONMENT.object_path(NAME, NAMESPACE)
AUDIT = {"type": "ExternalAudit", "status": "True", "reason": "Audited", "message": "1",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}


class RacingKube:
    """An in-memory API server with resourceVersions. `competing_writes` times, right after the
    operator reads its environment, another writer adds or bumps its own condition."""

    def __init__(self, competing_writes: int):
        self.env = {"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND,
                    "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "uid-1", "generation": 1,
                                 "resourceVersion": "1"},
                    "spec": {}}
        self.children: dict[tuple[str, str], dict] = {}
        self.competing_writes = competing_writes
        self.conflicts = 0

    def _bump(self) -> None:
        self.env["metadata"]["resourceVersion"] = str(int(self.env["metadata"]["resourceVersion"]) + 1)

    def _compete(self) -> None:
        status = self.env.setdefault("status", {})
        others = [c for c in status.get("conditions") or [] if c["type"] != AUDIT["type"]]
        count = int(next((c["message"] for c in status.get("conditions") or [] if c["type"] == AUDIT["type"]), 0))
        status["conditions"] = others + [{**AUDIT, "message": str(count + 1)}]
        self._bump()

    def get(self, path: str):
        if path == ENV_PATH:
            body = copy.deepcopy(self.env)
            if self.competing_writes:
                self.competing_writes -= 1
                self._compete()
            return body
        return None

    def request(self, method: str, path: str, *, body=None, query=None, content_type="application/json"):
        if method == "GET":
            resource = next((r for r in resources.CHILD_RESOURCES if r.collection_path(NAMESPACE) == path), None)
            kind = resource.kind if resource else None
            return {"items": [copy.deepcopy(o) for (k, _), o in self.children.items() if k == kind]}
        if method == "PATCH" and path == ENV_PATH + "/status":
            wanted = (body.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != self.env["metadata"]["resourceVersion"]:
                self.conflicts += 1
                raise KubeError(409, "Conflict", "409 Conflict: the object has been modified")
            status = self.env.setdefault("status", {})
            for key, value in body["status"].items():
                if value is None:
                    status.pop(key, None)
                else:
                    status[key] = value
            self._bump()
            return self.env
        if method == "PATCH":
            self.children[(body["kind"], body["metadata"]["name"])] = copy.deepcopy(body)
            return body
        raise AssertionError(f"unexpected {method} {path}")


def conditions(kube: RacingKube) -> dict[str, dict]:
    return {c["type"]: c for c in kube.env["status"]["conditions"]}


def test_a_condition_written_between_read_and_write_survives_and_ours_lands():
    kube = RacingKube(competing_writes=1)
    sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:00Z")
    assert kube.conflicts == 1
    assert conditions(kube)["ExternalAudit"]["message"] == "1"
    assert conditions(kube)[constants.CONDITION_READY]["status"] in ("True", "False")
    assert kube.env["status"]["observedGeneration"] == 1


def test_a_competitor_that_never_stops_ends_in_a_409_for_kopf_to_retry_without_losing_its_writes():
    kube = RacingKube(competing_writes=STATUS_CONFLICT_ATTEMPTS)
    with pytest.raises(KubeError) as raised:
        sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:00Z")
    assert raised.value.status == 409
    assert kube.conflicts == STATUS_CONFLICT_ATTEMPTS
    assert conditions(kube)["ExternalAudit"]["message"] == str(STATUS_CONFLICT_ATTEMPTS)
    # The next sync (kopf's retry) lands.
    sync_environment(kube, NAMESPACE, NAME, apply_changes=True, now="2026-01-01T00:00:05Z")
    assert conditions(kube)["ExternalAudit"]["message"] == str(STATUS_CONFLICT_ATTEMPTS)
    assert kube.env["status"]["observedGeneration"] == 1
