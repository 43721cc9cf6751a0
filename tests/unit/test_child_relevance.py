"""What of a child a sync reads (kube/relevance.py): the controllers' status bookkeeping changes
no digest; anything the verdict reads does."""

from __future__ import annotations

import copy

import pytest

from parity.kube.relevance import WORKLOAD_STATUS, read_by_a_sync, sync_digest
from parity.status import _workload_counts


def statefulset() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {
            "name": "dev-redis", "namespace": "ns", "resourceVersion": "41", "generation": 2, "uid": "u1",
            "labels": {"parity.dev/environment": "dev"},
            "annotations": {"parity.dev/desired-hash": "abc"},
            "ownerReferences": [{"kind": "ParityEnvironment", "name": "dev", "uid": "e1", "controller": True}],
            "managedFields": [
                {"manager": "parity-operator", "operation": "Apply", "time": "2026-12-05T10:00:00Z",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                 "time": "2026-12-05T10:00:01Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}},
            ],
        },
        "spec": {"replicas": 3, "serviceName": "dev-redis"},
        "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "currentReplicas": 3,
                   "updatedReplicas": 3, "observedGeneration": 2, "currentRevision": "r1", "updateRevision": "r1",
                   "collisionCount": 0},
    }


def changed(body: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(body)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize("path,value", [
    (("metadata", "resourceVersion"), "42"),
    (("status", "availableReplicas"), 3),
    (("status", "currentReplicas"), 2),
    (("status", "replicas"), 2),
    (("status", "collisionCount"), 1),
    (("metadata", "managedFields", 1, "time"), "2026-12-05T10:05:00Z"),  # a controller's status write
    (("metadata", "managedFields", 0, "time"), "2026-12-05T10:05:00Z"),
])
def test_bookkeeping_a_sync_does_not_read_changes_no_digest(path, value):
    assert sync_digest(changed(statefulset(), path, value)) == sync_digest(statefulset())


@pytest.mark.parametrize("path,value", [
    (("status", "readyReplicas"), 3),
    (("status", "updatedReplicas"), 2),
    (("status", "observedGeneration"), 1),
    (("status", "updateRevision"), "r2"),
    (("metadata", "generation"), 3),
    (("spec", "replicas"), 2),
    (("metadata", "labels", "parity.dev/environment"), "other"),
    (("metadata", "annotations", "parity.dev/desired-hash"), "def"),
    (("metadata", "ownerReferences"), []),
    # Someone else's apply of a field: the live level of drift names its manager.
    (("metadata", "managedFields", 0, "manager"), "kubectl"),
    (("metadata", "managedFields", 0, "fieldsV1"), {"f:spec": {"f:serviceName": {}}}),
])
def test_anything_the_verdict_reads_changes_the_digest(path, value):
    assert sync_digest(changed(statefulset(), path, value)) != sync_digest(statefulset())


def test_a_pod_disruption_budgets_status_is_not_read_but_its_spec_is():
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "dev-etcd", "namespace": "ns", "resourceVersion": "7"},
           "spec": {"maxUnavailable": 1},
           "status": {"currentHealthy": 1, "desiredHealthy": 2, "disruptionsAllowed": 0, "expectedPods": 3}}
    assert "status" not in read_by_a_sync(pdb)
    assert sync_digest(changed(pdb, ("status", "currentHealthy"), 3)) == sync_digest(pdb)
    assert sync_digest(changed(pdb, ("spec", "maxUnavailable"), 2)) != sync_digest(pdb)


def test_the_body_is_left_as_it_was():
    body = statefulset()
    read_by_a_sync(body)
    assert body == statefulset()


class Reads(dict):
    """A status that records every field read from it."""

    def __init__(self, *args, seen: set, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = seen

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize("kind", ["StatefulSet", "Deployment"])
def test_the_workload_status_kept_is_all_that_readiness_reads(kind):
    """kube/relevance.WORKLOAD_STATUS must cover what status._workload_counts reads: a field it
    starts reading that is not kept would leave its changes without a sync."""
    seen: set = set()
    body = statefulset()
    body["kind"] = kind
    body["status"] = Reads(body["status"], seen=seen)
    _workload_counts(body)
    assert seen and seen <= set(WORKLOAD_STATUS)
