"""kube/: resource paths, the desired-hash annotation, status merge patches, trigger coalescing."""

import threading
import time

import pytest

from parity.kube.apply import HASH_ANNOTATION, manifest_hash, with_hash
from parity.kube.resources import resource_for
from parity.handlers.triggers import Triggers
from parity.reconcile import merge_patch


def test_paths_for_core_grouped_and_cluster_scoped_kinds():
    assert resource_for({"apiVersion": "v1", "kind": "Service"}).object_path("a", "ns") == "/api/v1/namespaces/ns/services/a"
    assert resource_for({"apiVersion": "apps/v1", "kind": "StatefulSet"}).collection_path("ns") == \
        "/apis/apps/v1/namespaces/ns/statefulsets"
    assert resource_for({"apiVersion": "parity.dev/v1alpha1", "kind": "ParityBaseline"}).object_path("prod") == \
        "/apis/parity.dev/v1alpha1/paritybaselines/prod"
    with pytest.raises(ValueError, match="unsupported kind 'CronJob'"):
        resource_for({"apiVersion": "batch/v1", "kind": "CronJob"})


def test_hash_is_stable_and_changes_with_content():
    a = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"b": "1", "a": "2"}}, "data": {"k": "v"}}
    b = {"kind": "ConfigMap", "apiVersion": "v1", "data": {"k": "v"}, "metadata": {"labels": {"a": "2", "b": "1"}, "name": "x"}}
    assert manifest_hash(a) == manifest_hash(b)
    assert manifest_hash(a) != manifest_hash({**a, "data": {"k": "w"}})
    hashed = with_hash(a)
    assert hashed["metadata"]["annotations"][HASH_ANNOTATION] == manifest_hash(a)
    assert "annotations" not in a["metadata"]  # the input is not mutated


def test_merge_patch_removes_vanished_keys_at_every_level():
    previous = {"phase": "Ready", "drift": {"firstDetectedAt": "T", "summary": {"info": 1}}, "old": 1}
    new = {"phase": "Ready", "drift": {"summary": {"info": 0}}}
    assert merge_patch(previous, new) == {"phase": "Ready", "drift": {"summary": {"info": 0}, "firstDetectedAt": None},
                                          "old": None}


def test_triggers_collapse_a_burst_into_few_runs():
    triggers = Triggers()
    runs = []
    gate = threading.Event()

    def slow():
        runs.append(1)
        gate.wait(2)

    first = threading.Thread(target=triggers.run, args=(("ns", "a"), slow))
    first.start()
    time.sleep(0.05)
    burst = [threading.Thread(target=triggers.coalesce, args=(("ns", "a"), slow)) for _ in range(10)]
    for t in burst:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in [first, *burst]:
        t.join(5)
    # One run held the lock; the burst was handed to it and ran once after it.
    assert len(runs) == 2
    triggers.forget(("ns", "a"))
    assert len(triggers) == 0


def test_status_and_annotation_patches_are_written_under_our_field_manager():
    """Every write names the operator's field manager; without one the API server records the
    HTTP client's name ("python-urllib3") as the manager in managedFields."""
    from parity import constants
    from parity.kube.apply import annotate, patch_status
    from parity.kube.resources import ENVIRONMENT

    calls = []

    class Recorder:
        def request(self, method, path, *, body=None, query=None, content_type="application/json"):
            calls.append((method, path, dict(query or []), content_type))
            return {}

    patch_status(Recorder(), ENVIRONMENT, "ns", "dev", {"phase": "Ready"}, resource_version="7")
    annotate(Recorder(), ENVIRONMENT, "ns", "dev", {"a": "b"})
    assert [c[2].get("fieldManager") for c in calls] == [constants.FIELD_MANAGER] * 2
    assert calls[0][1].endswith("/parityenvironments/dev/status")
    assert {c[3] for c in calls} == {"application/merge-patch+json"}
