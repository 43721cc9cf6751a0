"""Live drift under `policy: approve`: one pending correction per child object, approved by id,
merged with the setting corrections of the actuation pass. Pure."""

from __future__ import annotations

from parity.actuate.approval import (
    approved_objects,
    live_correction_path,
    live_corrections,
    with_live_corrections,
)
from parity.drift.finding import Finding

DESIRED = [("StatefulSet", "dev-etcd"), ("Service", "dev-postgres-primary")]


def live(path, local, baseline, kind="StatefulSet", name="dev-etcd", change="modified"):
    return Finding(path=path, component="etcd", level="live", change=change, local=local, baseline=baseline,
                   severity="warning", remediation="", kind=kind, name=name)


def test_one_correction_per_object_listing_every_field():
    findings = [live("live.StatefulSet.spec.replicas", 5, 3),
                live("live.StatefulSet.spec.template.spec.containers[0].image", "etcd:x", "etcd:y"),
                live("live.Service", None, {"kind": "Service"}, kind="Service", name="dev-postgres-primary",
                     change="missing"),
                # Not ours to re-apply (not rendered), and not live: no correction.
                live("live.ConfigMap.data", "a", "b", kind="ConfigMap", name="someone-else"),
                Finding(path="redis.config.maxmemory", component="redis", level="runtime", change="modified",
                        local="1mb", baseline="2mb")]
    pending = live_corrections(findings, DESIRED)
    assert [c["path"] for c in pending] == ["live:Service/dev-postgres-primary", "live:StatefulSet/dev-etcd"]
    etcd = pending[1]
    assert "spec.replicas=5" in etcd["from"] and "spec.replicas=3" in etcd["to"]
    assert "etcd:x" in etcd["from"] and "etcd:y" in etcd["to"]
    assert pending[0]["from"] == "live.Service=absent"
    assert etcd["action"].startswith("server-side apply StatefulSet/dev-etcd")


def test_an_object_edited_again_after_the_approval_has_another_id():
    first = live_corrections([live("live.StatefulSet.spec.replicas", 5, 3)], DESIRED)[0]
    again = live_corrections([live("live.StatefulSet.spec.replicas", 4, 3)], DESIRED)[0]
    assert first["path"] == again["path"] and first["id"] != again["id"]
    approvals = {first["path"]: first["id"]}
    assert approved_objects([first], approvals) == {("StatefulSet", "dev-etcd")}
    assert approved_objects([again], approvals) == set()
    # A setting approval never selects an object.
    assert approved_objects([first], {"redis.config.maxmemory": first["id"]}) == set()


def test_live_corrections_replace_the_previous_ones_and_keep_the_settings():
    setting = {"id": "s1", "path": "redis.config.maxmemory", "component": "redis", "from": "1mb", "to": "2mb",
               "action": "CONFIG SET"}
    stale = {"id": "old", "path": live_correction_path("StatefulSet", "dev-etcd"), "component": "etcd",
             "from": "x", "to": "y", "action": "apply"}
    record = {"applied": {"redis.config.maxmemory": "2mb"}, "pendingCorrections": [setting, stale]}
    fresh = live_corrections([live("live.StatefulSet.spec.replicas", 5, 3)], DESIRED)
    merged = with_live_corrections(record, fresh)
    assert merged["applied"] == record["applied"]
    assert [c["id"] for c in merged["pendingCorrections"]] == [fresh[0]["id"], "s1"]  # by path
    # Resolved live drift leaves the settings; nothing at all leaves no list.
    assert with_live_corrections(record, [])["pendingCorrections"] == [setting]
    assert "pendingCorrections" not in with_live_corrections({"applied": {}, "pendingCorrections": [stale]}, [])
    assert with_live_corrections(None, []) is None
    assert with_live_corrections(None, fresh) == {"pendingCorrections": fresh}
