"""Event-driven syncs read their environment from what this process last read or wrote, while the
watch says it has not changed since (kube/index.IndexedEnvironments); anything else is a GET.

The in-memory API is test_ownership's `MemoryKube`, with resourceVersions and the status write's
precondition added; the "index" is a function returning whatever version a test says the
environment watch has delivered so far (possibly behind)."""

from __future__ import annotations

import pytest
from test_ownership import ENV, NS, MemoryKube, new_cluster

from parity.kube.client import KubeError
from parity.kube.index import IndexedEnvironments
from parity.kube.resources import ENVIRONMENT
from parity.reconcile import sync_environment

NOW = "2026-01-01T00:00:00Z"
ENV_PATH = ENVIRONMENT.object_path(ENV, NS)


class VersionedKube(MemoryKube):
    """Every write of the environment bumps its resourceVersion; a status write naming another
    version is refused with 409, as the API server does. Counts the environment's GETs."""

    def __init__(self):
        super().__init__()
        self.version = 1
        self.env_gets = 0

    def bump(self) -> str:
        self.version += 1
        self.objects[ENV_PATH]["metadata"]["resourceVersion"] = str(self.version)
        return str(self.version)

    def get(self, path):
        if path == ENV_PATH:
            self.env_gets += 1
        return super().get(path)

    def request(self, method, path, *, body=None, query=None, content_type="application/json"):
        if method == "PATCH" and path == ENV_PATH + "/status":
            wanted = ((body or {}).get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != self.objects[ENV_PATH]["metadata"]["resourceVersion"]:
                raise KubeError(409, "Conflict", "the object has been modified")
            super().request(method, path, body=body, query=query, content_type=content_type)
            self.bump()
            return self.get_quietly()
        return super().request(method, path, body=body, query=query, content_type=content_type)

    def get_quietly(self) -> dict:
        return super().get(ENV_PATH)


def cluster() -> VersionedKube:
    kube = VersionedKube()
    kube.objects.update(new_cluster().objects)
    kube.objects[ENV_PATH]["metadata"]["resourceVersion"] = "1"
    return kube


def watch_of(kube: VersionedKube, lag: list | None = None):
    """The version index: the stored version, or a pinned one while the watch is behind."""
    return lambda ns, name: (lag[0] if lag else kube.objects[ENV_PATH]["metadata"]["resourceVersion"]) \
        if (ns, name) == (NS, ENV) else None


def sync(kube, environments, apply_changes=False, now=NOW):
    return sync_environment(kube, NS, ENV, apply_changes=apply_changes, now=now, environments=environments)


# --- the reader ------------------------------------------------------------------------------------

def test_a_kept_body_is_used_only_while_the_watch_has_its_version():
    kube = cluster()
    lag: list = []
    reader = IndexedEnvironments(watch_of(kube, lag))
    assert reader.read(kube, NS, ENV)["metadata"]["resourceVersion"] == "1"
    assert kube.env_gets == 1
    first = reader.read(kube, NS, ENV)
    assert kube.env_gets == 1  # kept: the watch says version 1 too
    first["metadata"]["name"] = "changed"  # each answer is the caller's own copy
    assert reader.read(kube, NS, ENV)["metadata"]["name"] == ENV

    kube.objects[ENV_PATH]["metadata"].setdefault("annotations", {})["a"] = "b"
    kube.bump()  # someone else's write, delivered by the watch
    assert reader.read(kube, NS, ENV)["metadata"]["annotations"] == {"a": "b"}
    assert kube.env_gets == 2

    reader.forget(NS, ENV)
    reader.read(kube, NS, ENV)
    assert kube.env_gets == 3
    assert len(reader) == 1


def test_without_an_answer_from_the_index_or_a_version_the_reader_gets():
    kube = cluster()
    reader = IndexedEnvironments(lambda ns, name: None)
    reader.read(kube, NS, ENV)
    reader.read(kube, NS, ENV)
    assert kube.env_gets == 2
    reader = IndexedEnvironments(watch_of(kube))
    reader.remember(NS, ENV, {"metadata": {"name": ENV}})  # no version to match: not kept
    assert len(reader) == 0


def test_a_gone_environment_is_not_kept():
    kube = cluster()
    reader = IndexedEnvironments(watch_of(kube))
    reader.read(kube, NS, ENV)
    del kube.objects[ENV_PATH]
    reader.forget(NS, ENV)
    assert reader.read(kube, NS, ENV) is None
    assert len(reader) == 0


# --- in a sync -------------------------------------------------------------------------------------

def test_the_next_sync_starts_from_what_the_status_write_stored_without_a_get():
    kube = cluster()
    reader = IndexedEnvironments(watch_of(kube))
    first = sync(kube, reader)
    assert first.status_written and kube.env_gets == 1
    second = sync(kube, reader)
    assert kube.env_gets == 1  # the write's answer, version 2, is what the watch has
    assert not second.status_written  # and its status is the stored one: nothing new to write
    assert second.body["status"] == kube.objects[ENV_PATH]["status"]


def test_a_write_from_a_body_the_watch_has_not_seen_replaced_is_refused_and_synced_again_from_a_get():
    kube = cluster()
    lag = ["1"]
    reader = IndexedEnvironments(watch_of(kube, lag))
    sync(kube, reader)  # GET at version 1; the status write makes version 2, kept
    lag[0] = "2"
    kube.objects[ENV_PATH]["metadata"].setdefault("annotations", {})["kopf"] = "x"
    kube.bump()  # version 3: kopf's annotation patch, its event not delivered yet
    gets = kube.env_gets
    # A status with something new (a heartbeat due) is written from the kept version 2: 409, then
    # the sync reads again and writes from version 3.
    outcome = sync(kube, reader, now="2026-01-01T01:00:00Z")
    assert outcome.status_written
    assert kube.env_gets == gets + 1
    assert kube.objects[ENV_PATH]["status"]["drift"]["checkedAt"] == "2026-01-01T01:00:00Z"


def test_a_failed_sync_forgets_the_kept_body():
    kube = cluster()
    reader = IndexedEnvironments(watch_of(kube))
    sync(kube, reader)
    assert len(reader) == 1

    def broken(*_a, **_k):
        raise KubeError(500, "InternalError", "etcd is gone")

    with pytest.raises(KubeError):
        sync_environment(kube, NS, ENV, apply_changes=False, now=NOW, environments=reader, children=broken)
    assert len(reader) == 0


def test_children_are_never_written_from_a_kept_spec_older_than_the_stored_one():
    """Under enforce an event's sync re-applies drifted children. If a handler's sync has just
    applied a newer spec whose event has not arrived, the kept body's spec is the old one: the
    sync confirms with a GET before it writes, and writes the stored spec's children."""
    from parity.render import postgres as postgres_render

    kube = cluster()
    env = kube.objects[ENV_PATH]
    env["spec"] = {"drift": {"policy": "enforce"}, "postgres": {"replicas": 3}}
    sync_environment(kube, NS, ENV, apply_changes=True, now=NOW)  # the create: children for 3 members
    lag: list = []
    reader = IndexedEnvironments(watch_of(kube, lag))
    reader.read(kube, NS, ENV)  # kept, as an event's sync would have
    lag.append(env["metadata"]["resourceVersion"])  # the watch stops here

    env["spec"] = {"drift": {"policy": "enforce"}, "postgres": {"replicas": 2}}
    env["metadata"]["generation"] = 2
    kube.bump()
    sync_environment(kube, NS, ENV, apply_changes=True, now=NOW)  # the update handler: 2 members
    sts_path = f"/apis/apps/v1/namespaces/{NS}/statefulsets/{postgres_render.statefulset_name(ENV)}"
    assert kube.objects[sts_path]["spec"]["replicas"] == 2
    del kube.objects[sts_path]["metadata"]["labels"]["app.kubernetes.io/part-of"]  # live drift to revert

    outcome = sync(kube, reader)
    assert kube.objects[sts_path]["spec"]["replicas"] == 2  # never the kept spec's 3
    assert "app.kubernetes.io/part-of" in kube.objects[sts_path]["metadata"]["labels"]  # reverted
    assert outcome.body["spec"]["postgres"]["replicas"] == 2
