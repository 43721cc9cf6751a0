"""handlers/diffbase.py: kopf's diff base, the same essence, without deep-copying status."""

from __future__ import annotations

import copy

import kopf
import pytest
from kopf._cogs.structs import bodies

from parity import constants
from parity.handlers.diffbase import LeanAnnotationsDiffBaseStorage

ARGS = dict(prefix=constants.ANNOTATION_PREFIX, key="last-handled-configuration")


class NoCopy:
    """A value that must not be deep-copied: status is thrown away by the essence anyway."""

    def __deepcopy__(self, memo):
        raise AssertionError("status was deep-copied")


def environment() -> dict:
    return {
        "apiVersion": "parity.dev/v1alpha1", "kind": "ParityEnvironment",
        "metadata": {
            "name": "dev", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42", "generation": 3,
            "labels": {"team": "a"},
            "annotations": {
                "note": "kept",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                f"{constants.ANNOTATION_PREFIX}/last-handled-configuration": '{"spec":{}}',
                "other.example/last-handled-configuration": "x",  # another kopf operator's storage
            },
            "finalizers": ["parity.dev/finalizer"],
            "managedFields": [{"manager": "parity-operator", "operation": "Apply", "fieldsV1": {"f:status": {}}}],
        },
        "spec": {"baselineRef": {"name": "staging"}, "postgres": {"replicas": 3}},
        "status": {"phase": "Ready", "drift": {"findings": [{"path": "a", "severity": "info"}]}},
    }


def replica_set_of_a_deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "rs", "namespace": "n", "labels": {"app": "x"},
                     "ownerReferences": [{"kind": "Deployment", "name": "d", "uid": "u"}],
                     "annotations": {f"{constants.ANNOTATION_PREFIX}/last-handled-configuration-ofDRS": "{}",
                                     "deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 2},
        "status": {"replicas": 2},
    }


@pytest.mark.parametrize("raw", [environment(), replica_set_of_a_deployment(),
                                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}},
                                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}])
def test_the_essence_is_kopfs_own(raw):
    ours = LeanAnnotationsDiffBaseStorage(**ARGS).build(body=bodies.Body(copy.deepcopy(raw)))
    kopfs = kopf.AnnotationsDiffBaseStorage(**ARGS).build(body=bodies.Body(copy.deepcopy(raw)))
    assert ours == kopfs


def test_status_is_never_deep_copied_and_the_body_is_left_as_it_was():
    raw = environment()
    raw["status"]["drift"]["report"] = NoCopy()
    raw["metadata"]["managedFields"][0]["fieldsV1"] = NoCopy()
    before = dict(raw)
    essence = LeanAnnotationsDiffBaseStorage(**ARGS).build(body=bodies.Body(raw))
    assert "status" not in essence and essence["spec"] == {"baselineRef": {"name": "staging"}, "postgres": {"replicas": 3}}
    assert raw == before and "managedFields" in raw["metadata"]
    essence["spec"]["postgres"]["replicas"] = 1  # the essence is a copy
    assert raw["spec"]["postgres"]["replicas"] == 3


def test_a_handler_asking_for_a_status_field_gets_kopfs_build():
    raw = environment()
    ours = LeanAnnotationsDiffBaseStorage(**ARGS).build(body=bodies.Body(copy.deepcopy(raw)), extra_fields=["status.phase"])
    kopfs = kopf.AnnotationsDiffBaseStorage(**ARGS).build(body=bodies.Body(copy.deepcopy(raw)), extra_fields=["status.phase"])
    assert ours == kopfs and ours["status"] == {"phase": "Ready"}


def test_the_operator_uses_it(monkeypatch):
    """configure() sets it; the clients it creates after the settings are stubbed out."""
    import logging
    from types import SimpleNamespace

    from parity.handlers import startup

    monkeypatch.setattr(startup.Kube, "connect", classmethod(lambda cls, *a, **k: SimpleNamespace(host="test")))
    monkeypatch.setattr(startup.metrics, "serve", lambda port: None)
    monkeypatch.setattr(startup, "MemoryTrimmer", lambda seconds: SimpleNamespace(start=lambda: None))
    settings, memo = kopf.OperatorSettings(), kopf.Memo()
    startup.configure(settings=settings, memo=memo, logger=logging.getLogger("t"))
    memo.sync_pool.shutdown()
    assert isinstance(settings.persistence.diffbase_storage, LeanAnnotationsDiffBaseStorage)
