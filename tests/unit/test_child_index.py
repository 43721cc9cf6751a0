"""Syncs served from the operator's watch-fed child index (kube/index.py, handlers/index.py):
no LIST per sync, and the places where an index behind the API server could mislead a sync.

The in-memory API is test_ownership's `MemoryKube`; an "index" here is a function returning
whatever bodies a test says the watches have delivered so far (possibly stale)."""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import threading

import pytest
from test_ownership import ENV, NS, SECRET, UID, MemoryKube, cm_path, new_cluster, obj, owner_ref, secret_path

from parity import constants
from parity.handlers.index import ChildIndex, decode_child, encode_child
from parity.kube.relevance import sync_digest
from parity.kube.children import resolve_missing
from parity.kube.index import IndexedChildren
from parity.reconcile import sync_environment

NOW = "2026-01-01T00:00:00Z"


class CountingKube(MemoryKube):
    """Records every read: collection reads (LISTs) and object reads (GETs)."""

    def __init__(self):
        super().__init__()
        self.reads: list[str] = []

    def get(self, path):
        self.reads.append(path)
        return super().get(path)

    def request(self, method, path, **kwargs):
        if method == "GET":
            self.reads.append(path)
        return super().request(method, path, **kwargs)

    def lists(self) -> list[str]:
        return [p for p in self.reads if p not in self.objects and p.endswith("s")]


def counting_cluster(spec=None) -> CountingKube:
    kube = CountingKube()
    kube.objects.update(new_cluster(spec).objects)
    return kube


def watched(kube: MemoryKube) -> list[dict]:
    """What a watch with the child selector would have delivered: every labelled non-Secret."""
    return [copy.deepcopy(o) for o in kube.objects.values()
            if o["kind"] not in ("Secret", constants.ENVIRONMENT_KIND)
            and (o["metadata"].get("labels") or {}).get(constants.LABEL_ENVIRONMENT) == ENV]


def sync(kube, children, apply_changes=False):
    return sync_environment(kube, NS, ENV, apply_changes=apply_changes, now=NOW, children=children)


def conditions(outcome) -> dict:
    return {c["type"]: c for c in outcome.status["conditions"]}


# --- the reader ----------------------------------------------------------------------------------

def test_the_index_reader_keeps_only_our_children_and_reads_the_secret_by_name():
    kube = counting_cluster()
    ours = obj("ConfigMap", "ours", owners=[owner_ref()])
    theirs = obj("ConfigMap", "users")  # labelled, no owner: the user's
    other_uid = obj("ConfigMap", "old", owners=[owner_ref(uid="old")])
    kube.put(secret_path(SECRET), obj("Secret", SECRET, owners=[owner_ref()]))
    reader = IndexedChildren(lambda ns, name: [ours, theirs, other_uid] if (ns, name) == (NS, ENV) else [])
    names = {(o["kind"], o["metadata"]["name"]) for o in reader(kube, NS, ENV, UID, secret_names=(SECRET,))}
    assert names == {("ConfigMap", "ours"), ("Secret", SECRET)}
    assert kube.reads == [secret_path(SECRET)]  # one GET, no LIST


def test_the_credentials_secret_is_read_once_per_window_and_again_after_a_write():
    kube = counting_cluster()
    kube.put(secret_path(SECRET), obj("Secret", SECRET, owners=[owner_ref()]))
    now = [100.0]
    reader = IndexedChildren(lambda ns, name: [], clock=lambda: now[0], credentials_reread_seconds=30)

    def secrets_read() -> list[str]:
        found = [o["metadata"]["name"] for o in reader(kube, NS, ENV, UID, secret_names=(SECRET,))]
        assert found == [SECRET]
        return [p for p in kube.reads if p == secret_path(SECRET)]

    assert len(secrets_read()) == 1
    now[0] += 29
    assert len(secrets_read()) == 1  # kept
    now[0] += 2
    assert len(secrets_read()) == 2  # older than the window: read again
    reader.forget_credentials(NS, ENV)
    assert len(secrets_read()) == 3  # a sync wrote children: read again
    reader.forget(NS, ENV)
    assert len(secrets_read()) == 4
    # Each answer is the caller's own copy: a change to one does not reach the next.
    first = reader(kube, NS, ENV, UID, secret_names=(SECRET,))[0]
    first["metadata"]["name"] = "changed"
    assert reader(kube, NS, ENV, UID, secret_names=(SECRET,))[0]["metadata"]["name"] == SECRET


def test_a_missing_credentials_secret_is_never_kept():
    kube = counting_cluster()
    reader = IndexedChildren(lambda ns, name: [], clock=lambda: 0.0)
    assert reader(kube, NS, ENV, UID, secret_names=(SECRET,)) == []
    kube.put(secret_path(SECRET), obj("Secret", SECRET, owners=[owner_ref()]))
    assert [o["metadata"]["name"] for o in reader(kube, NS, ENV, UID, secret_names=(SECRET,))] == [SECRET]
    assert kube.reads.count(secret_path(SECRET)) == 2


def test_a_kept_secret_of_another_owner_is_not_a_child():
    """Ownership is checked on every answer: a kept Secret is not taken for another environment's."""
    kube = counting_cluster()
    kube.put(secret_path(SECRET), obj("Secret", SECRET, owners=[owner_ref()]))
    reader = IndexedChildren(lambda ns, name: [], clock=lambda: 0.0)
    assert reader(kube, NS, ENV, UID, secret_names=(SECRET,))
    assert reader(kube, NS, ENV, "another-uid", secret_names=(SECRET,)) == []


def test_without_an_index_answer_the_reader_lists():
    kube = counting_cluster()
    kube.put(cm_path("ours"), obj("ConfigMap", "ours", owners=[owner_ref()]))
    children = IndexedChildren(lambda ns, name: None)(kube, NS, ENV, UID)
    assert [o["metadata"]["name"] for o in children] == ["ours"]
    assert kube.lists()


def test_children_deleted_while_the_watch_was_down_are_dropped_after_a_listing():
    kube = counting_cluster()
    kept = obj("ConfigMap", "kept", owners=[owner_ref()])
    kept["metadata"]["uid"] = "u-kept"
    ghost = obj("ConfigMap", "ghost", owners=[owner_ref()])
    ghost["metadata"]["uid"] = "u-ghost"
    kube.put(cm_path("kept"), kept)
    index = [kept, ghost]  # the ghost was deleted while the stream was down: no DELETED event
    reader = IndexedChildren(lambda ns, name: index)
    assert {o["metadata"]["name"] for o in reader(kube, NS, ENV, UID)} == {"kept", "ghost"}
    reader.suspect(NS, ENV)  # a listing event for this environment
    kube.reads.clear()
    assert [o["metadata"]["name"] for o in reader(kube, NS, ENV, UID)] == ["kept"]
    assert kube.lists()  # that read was a LIST
    kube.reads.clear()
    assert [o["metadata"]["name"] for o in reader(kube, NS, ENV, UID)] == ["kept"]  # the index again
    assert kube.lists() == []
    reader.forget(NS, ENV)
    assert {o["metadata"]["name"] for o in reader(kube, NS, ENV, UID)} == {"kept", "ghost"}


# --- a sync from the index -----------------------------------------------------------------------

def test_a_converged_sync_from_the_index_lists_nothing_and_writes_nothing():
    kube = counting_cluster()
    sync_environment(kube, NS, ENV, apply_changes=True, now=NOW)  # creates everything (LISTs)
    kube.reads.clear()
    kube.writes.clear()
    outcome = sync(kube, IndexedChildren(lambda ns, name: watched(kube)))
    assert kube.lists() == []
    assert not kube.writes
    assert conditions(outcome)[constants.CONDITION_STALLED]["status"] == "False"
    # The environment, the credentials Secret and nothing per child kind.
    assert len(kube.reads) <= 3, kube.reads


def test_our_children_missing_from_a_lagging_index_are_neither_conflicts_nor_missing():
    kube = counting_cluster()
    sync_environment(kube, NS, ENV, apply_changes=True, now=NOW)
    expected = sync(kube, IndexedChildren(lambda ns, name: None))  # the reference: LISTs
    kube.writes.clear()
    # The index has seen none of the children the spec handler just created.
    lagging = sync(kube, IndexedChildren(lambda ns, name: []))
    assert conditions(lagging)[constants.CONDITION_STALLED]["status"] == "False", conditions(lagging)
    assert lagging.status["phase"] == expected.status["phase"]
    assert lagging.status["components"] == expected.status["components"]
    assert lagging.status["drift"]["findings"] == expected.status["drift"]["findings"]
    assert not kube.writes


def test_resolve_missing_tells_our_late_children_from_foreign_ones():
    kube = MemoryKube()
    kube.put(cm_path("ours"), obj("ConfigMap", "ours", owners=[owner_ref()]))
    kube.put(cm_path("taken"), obj("ConfigMap", "taken", owners=[owner_ref(uid="old")]))
    desired = [obj("ConfigMap", n) for n in ("ours", "taken", "free")]
    found, conflicts = resolve_missing(kube, desired, [], ENV, UID)
    assert [o["metadata"]["name"] for o in found] == ["ours"]
    assert len(conflicts) == 1 and "ConfigMap team/taken" in conflicts[0]


def test_resolve_missing_reads_a_kind_with_several_missing_names_with_one_unfiltered_list():
    kube = CountingKube()
    kube.put(cm_path("ours"), obj("ConfigMap", "ours", owners=[owner_ref()]))
    kube.put(cm_path("taken"), obj("ConfigMap", "taken", labels={}))  # no labels: still a conflict
    kube.put(cm_path("unrelated"), obj("ConfigMap", "unrelated", labels={}))
    desired = [obj("ConfigMap", n) for n in ("ours", "taken", "free")] + [obj("Service", "alone")]
    found, conflicts = resolve_missing(kube, desired, [], ENV, UID)
    assert [o["metadata"]["name"] for o in found] == ["ours"]
    assert len(conflicts) == 1 and "ConfigMap team/taken" in conflicts[0]
    assert kube.reads == [cm_path("ours").rsplit("/", 1)[0],  # one LIST of ConfigMaps
                          cm_path("alone").replace("configmaps", "services")]  # one GET


def test_pruning_a_child_the_index_still_has_but_the_server_has_not_is_harmless():
    kube = counting_cluster({"observability": {"enabled": True}})
    sync_environment(kube, NS, ENV, apply_changes=True, now=NOW)
    stale = watched(kube)  # the index's view, before the deletions below reach it
    kube.objects[ENVIRONMENT_PATH]["spec"] = {"observability": {"enabled": False}}
    kube.objects[ENVIRONMENT_PATH]["metadata"]["generation"] = 2
    prunable = [o for o in stale if "exporter" in o["metadata"]["name"] or "prometheus" in o["metadata"]["name"]]
    assert prunable
    gone = prunable[0]
    del kube.objects[path_of(gone)]  # deleted already (404 on our delete)
    replaced = prunable[1]
    kube.objects[path_of(replaced)]["metadata"]["uid"] = "someone-elses"  # recreated (409 on our delete)
    outcome = sync(kube, IndexedChildren(lambda ns, name: stale), apply_changes=True)
    assert conditions(outcome)[constants.CONDITION_STALLED]["status"] == "False"
    assert ("DELETE", path_of(gone)) in kube.writes
    assert path_of(replaced) in kube.objects  # the uid precondition kept it


def test_after_its_own_writes_a_sync_uses_what_the_api_server_answered_not_a_second_read():
    from parity.kube.resources import PERSISTENT_VOLUME_CLAIMS

    kube = counting_cluster()
    # The index never catches up: status must still show what was applied, not "missing".
    outcome = sync(kube, IndexedChildren(lambda ns, name: []), apply_changes=True)
    assert outcome.applied and len(outcome.applied) == len([w for w in kube.writes if w[0] == "APPLY"])
    # Collection reads: the first-start check for PostgreSQL volume claims, and one per kind
    # for the names to create (resolve_missing); none of them twice, and no LIST after the writes.
    assert PERSISTENT_VOLUME_CLAIMS.collection_path(NS) in kube.lists()
    assert len(kube.lists()) == len(set(kube.lists())), kube.lists()
    # Each kind is read once to look for names taken: a GET for a kind with one child, else a LIST.
    kinds_read = [p.split("/")[-2] for p in kube.reads if p not in kube.lists()
                  and not p.endswith(("/" + ENV, "/" + SECRET))]
    assert len(kinds_read) == len(set(kinds_read)), kinds_read
    kube.writes.clear()
    # The reference: the same environment read back with LISTs, writing nothing.
    reference = sync(kube, IndexedChildren(lambda ns, name: None))
    assert not kube.writes
    assert outcome.status["components"] == reference.status["components"]
    assert outcome.status["phase"] == reference.status["phase"]
    assert outcome.status["drift"]["findings"] == reference.status["drift"]["findings"]
    assert conditions(outcome)[constants.CONDITION_READY] == conditions(reference)[constants.CONDITION_READY]


def test_after_writes_takes_the_answers_drops_the_deleted_and_keeps_the_rest():
    from parity.kube.children import after_writes

    old = obj("ConfigMap", "changed", owners=[owner_ref()], data={"v": "1"})
    answered = obj("ConfigMap", "changed", owners=[owner_ref()], data={"v": "2"})
    created = obj("Service", "new", owners=[owner_ref()])
    untouched = obj("ConfigMap", "same", owners=[owner_ref()])
    deleted = obj("ConfigMap", "pruned", owners=[owner_ref()])
    result = after_writes([old, untouched, deleted], [answered, created], [deleted])
    assert sorted((o["kind"], o["metadata"]["name"], o.get("data")) for o in result) == [
        ("ConfigMap", "changed", {"v": "2"}), ("ConfigMap", "same", None), ("Service", "new", None)]


ENVIRONMENT_PATH = f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{NS}/{constants.ENVIRONMENT_PLURAL}/{ENV}"


def path_of(o: dict) -> str:
    from parity.kube.resources import resource_for

    return resource_for(o).object_path(o["metadata"]["name"], NS)


# --- kopf's index, from worker threads -----------------------------------------------------------

def test_snapshots_are_taken_on_the_event_loop_and_fall_back_when_it_is_gone():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        a, b = {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}
        stored = {(NS, ENV): [encode_child(a)]}
        index = ChildIndex(loop, [stored, {(NS, ENV): [encode_child(b)]}, {}])
        assert index.snapshot(NS, ENV) == [a, b]
        assert index.snapshot(NS, "other") == []
        # Each snapshot is the caller's own copy: changing it changes nothing stored.
        first = index.snapshot(NS, ENV)
        first[0]["metadata"]["name"] = "changed"
        assert index.snapshot(NS, ENV)[0] == a and stored[(NS, ENV)] == [encode_child(a)]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert index.snapshot(NS, ENV) is None  # closed: the reader lists instead


def test_the_snapshot_runs_on_the_loop_thread():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen = []

    class Spy(dict):
        def __contains__(self, key):
            seen.append(threading.current_thread())
            return False

    try:
        ChildIndex(loop, [Spy()]).snapshot(NS, ENV)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert seen == [thread]


def test_kopf_updates_indexes_before_the_events_handlers_run():
    """handlers/index.py and kube/index.py rely on this order: a child event's sync reads an
    index that already holds that event. A kopf upgrade that changes it must fail here."""
    from kopf._core.reactor import processing

    source = inspect.getsource(processing.process_resource_event)
    assert source.index("indexing.index_resource(") < source.index("process_resource_causes(")
    # And every resource handler waits until all indexed kinds were listed once.
    assert source.index("operator_indexed.wait_for(True)") < source.index("process_resource_causes(")


def test_every_child_kind_is_indexed_with_the_child_handlers_filters():
    import kopf

    import parity.handlers  # noqa: F401
    from parity.handlers.children import CHILD_KINDS
    from parity.handlers.index import INDEX_PREFIX

    registry = kopf.get_default_registry()
    indexed = {h.id: h for h in registry._indexing.get_all_handlers()}
    for _group, _version, plural in CHILD_KINDS:
        handler = indexed[f"{INDEX_PREFIX}{plural}"]
        assert handler.labels and handler.when is not None
    assert not [h for h in indexed.values() if h.selector.plural == "secrets"]


@pytest.mark.parametrize("labels,expected", [
    ({constants.LABEL_ENVIRONMENT: ENV}, {(NS, ENV)}),
    ({}, None),
])
def test_the_index_keys_children_by_namespace_and_environment(labels, expected):
    from parity.handlers.index import child_by_environment

    body = {"metadata": {"name": "x", "namespace": NS, "labels": labels}}
    result = asyncio.run(child_by_environment(namespace=NS, labels=labels, body=body))
    assert (set(result) if result is not None else None) == expected
    if result is not None:  # stored compressed (memory), decoded per snapshot
        entry = result[(NS, ENV)]
        assert isinstance(entry.stored, bytes) and len(entry.stored) < len(json.dumps(body))
        assert decode_child(entry) == body
        assert entry.digest == sync_digest(body)


@pytest.mark.parametrize("reason,generation,from_index", [("resume", 3, True), ("create", 1, True),
                                                          ("create", 2, False), ("update", 2, False)])
def test_updates_read_with_list_resume_first_creates_and_events_from_the_index(monkeypatch, reason, generation,
                                                                               from_index):
    import kopf

    from parity.handlers import common, environment
    from parity.handlers.config import OperatorConfig
    from parity.handlers.triggers import Triggers
    from parity.kube.children import list_children

    readers = []
    monkeypatch.setattr(common, "sync_environment", lambda *a, children, **kw: readers.append(children))
    memo = kopf.Memo()
    memo.triggers, memo.kube, memo.runtime, memo.actuation = Triggers(), None, {}, {}
    memo.config = OperatorConfig(runtime_probes=False)
    memo.children = index = IndexedChildren(lambda ns, name: [])
    environment.reconcile_environment(namespace=NS, name=ENV, reason=reason, memo=memo, logger=None,
                                      meta={"generation": generation})
    assert readers == [index if from_index else list_children]
    readers.clear()
    common.run_sync(memo, NS, ENV, trigger="child", apply_changes=False, coalesce=True)  # a child event
    assert readers == [index]


# --- the baseline index --------------------------------------------------------------------------

def _running_loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return loop, thread


def _stop(loop, thread):
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_a_sync_reads_its_baseline_from_the_index_not_the_api_server():
    import kopf

    from parity.handlers.index import IndexedBaselines, baseline_by_name

    body = kopf.Body({"apiVersion": constants.API_VERSION, "kind": constants.BASELINE_KIND,
                      "metadata": {"name": "staging", "generation": 4, "managedFields": [{"manager": "x"}]},
                      "spec": {"environment": {"redis": {"replicas": 3}}}})
    stored = asyncio.run(baseline_by_name(name="staging", body=body))
    kube = counting_cluster({"baselineRef": {"name": "staging"}})
    sync_environment(kube, NS, ENV, apply_changes=True, now=NOW)
    loop, thread = _running_loop()
    try:
        reader = IndexedBaselines(loop, {"staging": [stored["staging"]]})
        kube.reads.clear()
        outcome = sync(kube, IndexedChildren(lambda ns, name: watched(kube)))
        assert any("paritybaselines/staging" in p for p in kube.reads)  # the default reader GETs it
        assert outcome.status["drift"].get("baselineGeneration") is None  # and finds none here
        kube.reads.clear()
        outcome = sync_environment(kube, NS, ENV, apply_changes=False, now=NOW,
                                   children=IndexedChildren(lambda ns, name: watched(kube)), baselines=reader)
        assert all("paritybaselines" not in p for p in kube.reads), kube.reads
        assert outcome.status["drift"]["baselineGeneration"] == 4
        # A baseline the index does not hold does not exist (kopf listed the kind before any handler ran).
        assert IndexedBaselines(loop, {})(kube, "staging") is None
    finally:
        _stop(loop, thread)
    # No loop to ask: the API server is.
    assert IndexedBaselines(loop, {"staging": [stored["staging"]]})(kube, "staging") is None
    assert any("paritybaselines/staging" in p for p in kube.reads)


@pytest.mark.parametrize("applied,fresh,reads", [(["Secret/dev-postgres-credentials"], False, 2),
                                                 ([], True, 2), ([], False, 1)])
def test_a_sync_that_wrote_children_or_listed_makes_the_next_read_the_secret_again(monkeypatch, applied, fresh,
                                                                                    reads):
    import kopf

    from parity.handlers import common
    from parity.handlers.config import OperatorConfig
    from parity.handlers.triggers import Triggers
    from parity.reconcile import Outcome

    kube = counting_cluster()
    kube.put(secret_path(SECRET), obj("Secret", SECRET, owners=[owner_ref()]))
    memo = kopf.Memo()
    memo.triggers, memo.kube, memo.runtime, memo.actuation = Triggers(), kube, {}, {}
    memo.config = OperatorConfig(runtime_probes=False)
    memo.children = IndexedChildren(lambda ns, name: [], clock=lambda: 0.0)

    def fake_sync(kube, namespace, name, *, children, **_):
        if children is memo.children:  # a fresh sync LISTs (not counted here)
            children(kube, namespace, name, UID, secret_names=(SECRET,))
        return Outcome(status={}, body=None, applied=list(applied))

    monkeypatch.setattr(common, "sync_environment", fake_sync)
    memo.children(kube, NS, ENV, UID, secret_names=(SECRET,))  # an earlier sync kept it
    common.run_sync(memo, NS, ENV, trigger="environment", apply_changes=fresh, fresh=fresh)
    common.run_sync(memo, NS, ENV, trigger="child", apply_changes=False)
    assert kube.reads.count(secret_path(SECRET)) == reads
