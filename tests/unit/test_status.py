"""status.py: components, phase and conditions from plain child objects."""

from parity import constants
from parity.status import (
    compute_phase,
    component_conditions,
    merge_conditions,
    ready_condition,
    summarize_components,
)


def sts(name, component, replicas, ready=None, generation=1, observed=1, kind="StatefulSet"):
    obj = {"kind": kind, "metadata": {"name": name, "generation": generation,
                                      "labels": {constants.LABEL_COMPONENT: component}},
           "spec": {"replicas": replicas}}
    if ready is not None:
        obj["status"] = {"readyReplicas": ready, "observedGeneration": observed, "updatedReplicas": replicas}
    return obj


def test_components_sum_desired_from_rendered_and_ready_from_live():
    desired = [sts("e", "etcd", 3), sts("p", "postgres", 3), sts("r", "redis", 3), sts("s", "sentinel", 3),
               sts("g", "grafana", 1, kind="Deployment"), {"kind": "Service", "metadata": {"name": "x"}}]
    live = [sts("e", "etcd", 3, ready=3), sts("p", "postgres", 3, ready=1), sts("s", "sentinel", 3, ready=3)]
    comps = summarize_components(desired, live)
    assert comps["etcd"].to_dict() == {"ready": 3, "desired": 3}
    assert comps["postgres"].to_dict() == {"ready": 1, "desired": 3}
    assert comps["redis"].to_dict() == {"ready": 0, "desired": 3}  # not created yet
    assert comps["observability"].to_dict() == {"ready": 0, "desired": 1}


def test_live_status_for_an_older_generation_is_not_fully_ready():
    desired = [sts("e", "etcd", 3)]
    live = [sts("e", "etcd", 3, ready=3, generation=2, observed=1)]
    assert summarize_components(desired, live)["etcd"].ready == 2


def test_phase_progression():
    comps_ready = summarize_components([sts("e", "etcd", 1)], [sts("e", "etcd", 1, ready=1)])
    comps_short = summarize_components([sts("e", "etcd", 3)], [sts("e", "etcd", 3, ready=2)])
    assert compute_phase({}, None) == "Provisioning"
    assert compute_phase(comps_short, None) == "Provisioning"
    assert compute_phase(comps_ready, "Provisioning") == "Ready"
    assert compute_phase(comps_short, "Ready") == "Degraded"
    assert compute_phase(comps_short, "Degraded") == "Degraded"
    assert compute_phase(comps_ready, "Degraded") == "Ready"


def test_transition_time_moves_only_when_status_flips():
    first = merge_conditions(None, [{"type": "Ready", "status": "False", "reason": "a", "message": "m"}], "T1")
    same = merge_conditions(first, [{"type": "Ready", "status": "False", "reason": "b", "message": "n"}], "T2")
    flipped = merge_conditions(same, [{"type": "Ready", "status": "True", "reason": "c", "message": "o"}], "T3")
    assert first[0]["lastTransitionTime"] == "T1"
    assert same[0]["lastTransitionTime"] == "T1" and same[0]["reason"] == "b"
    assert flipped[0]["lastTransitionTime"] == "T3"


def test_conditions_kept_when_not_recomputed_and_sorted():
    prev = [{"type": "Zeta", "status": "True", "lastTransitionTime": "T0"}]
    merged = merge_conditions(prev, [{"type": "Alpha", "status": "True"}], "T1")
    assert [c["type"] for c in merged] == ["Alpha", "Zeta"]


def test_component_and_ready_conditions_name_what_is_missing():
    comps = summarize_components([sts("r", "redis", 3), sts("s", "sentinel", 3)],
                                 [sts("r", "redis", 3, ready=3), sts("s", "sentinel", 3, ready=1)])
    conds = {c["type"]: c for c in component_conditions(comps, 4)}
    assert conds["RedisReady"]["status"] == "False"
    assert "sentinel 1/3" in conds["RedisReady"]["message"]
    assert conds["RedisReady"]["observedGeneration"] == 4
    ready = ready_condition("Provisioning", comps, 4)
    assert ready["status"] == "False" and "sentinel 1/3" in ready["message"]
    assert ready_condition("Ready", comps, 4)["status"] == "True"


def test_a_rollout_is_provisioning_not_degraded():
    # The controller has not observed the new spec yet: missing members are expected.
    rolling = summarize_components([sts("e", "etcd", 3)], [sts("e", "etcd", 3, ready=3, generation=2, observed=1)])
    assert rolling["etcd"].progressing and not rolling["etcd"].is_ready
    assert compute_phase(rolling, "Ready") == "Provisioning"
    # Scaled in the spec, not yet in the live object.
    scaling = summarize_components([sts("p", "postgres", 5)], [sts("p", "postgres", 3, ready=3)])
    assert scaling["postgres"].progressing and compute_phase(scaling, "Ready") == "Provisioning"
    # Same spec, fewer ready members: lost, so Degraded.
    lost = summarize_components([sts("e", "etcd", 3)], [sts("e", "etcd", 3, ready=2)])
    assert not lost["etcd"].progressing and compute_phase(lost, "Ready") == "Degraded"


def test_a_deleted_pod_is_a_loss_not_a_rollout():
    """A deleted member is briefly not counted as updated. At the same revision that is a loss:
    read as "progressing" it turned Ready into Provisioning, which then never became Degraded."""
    def live(updated, current="r1", update="r1"):
        obj = sts("e", "etcd", 3, ready=2)
        obj["status"].update(updatedReplicas=updated, currentRevision=current, updateRevision=update)
        return obj

    gone = summarize_components([sts("e", "etcd", 3)], [live(2)])
    assert not gone["etcd"].progressing and compute_phase(gone, "Ready") == "Degraded"
    rollout = summarize_components([sts("e", "etcd", 3)], [live(2, update="r2")])
    assert rollout["etcd"].progressing and compute_phase(rollout, "Ready") == "Provisioning"
    # The operator's own rolling restart is not a loss either.
    assert compute_phase(gone, "Ready", rolling=True) == "Provisioning"
    # A new spec provisions afresh (the caller passes no previous phase).
    assert compute_phase(gone, None) == "Provisioning"


def test_a_deleted_child_makes_the_environment_degraded_not_provisioning():
    """Issue 10.3: a deleted StatefulSet counted as "not created yet" (Provisioning forever),
    a deleted Service did not count at all (Ready)."""
    from parity.status import reconciling_condition

    desired = [sts("e", "etcd", 3), sts("p", "postgres", 3), {"kind": "Service", "metadata": {"name": "p-primary"}}]
    live = [sts("e", "etcd", 3, ready=3)]
    missing = [("StatefulSet", "p"), ("Service", "p-primary")]
    comps = summarize_components(desired, live, missing)
    assert not comps["postgres"].progressing
    for previous in (None, "Provisioning", "Ready"):
        assert compute_phase(comps, previous, missing) == "Degraded"
    ready = ready_condition("Degraded", comps, 2, missing)
    assert (ready["status"], ready["reason"]) == ("False", "ChildMissing")
    assert "StatefulSet/p, Service/p-primary" in ready["message"]
    reconciling = reconciling_condition("Degraded", missing, 2)
    assert (reconciling["status"], reconciling["reason"]) == ("False", "ChildMissing")
    # Only a Service gone, every pod ready: still not Ready.
    all_ready = summarize_components(desired[:2], [sts("e", "etcd", 3, ready=3), sts("p", "postgres", 3, ready=3)])
    assert compute_phase(all_ready, "Ready", [("Service", "p-primary")]) == "Degraded"
    assert compute_phase(all_ready, "Ready") == "Ready"
    # Not created yet (nothing missing): still Provisioning.
    assert compute_phase(summarize_components(desired, live), None) == "Provisioning"


def test_a_status_with_nothing_new_is_written_only_as_a_heartbeat():
    from parity.reconcile import CHECKED_AT_REFRESH_SECONDS, _checked_at_stale

    def at(t):
        return {"drift": {"checkedAt": t}}

    assert CHECKED_AT_REFRESH_SECONDS >= 600  # at most one idle write per environment per 10 minutes
    assert not _checked_at_stale(at("2026-12-03T01:00:00Z"), at("2026-12-03T01:09:59Z"))
    assert _checked_at_stale(at("2026-12-03T01:00:00Z"), at("2026-12-03T01:10:00Z"))
    assert _checked_at_stale(at("2026-12-03T01:00:00Z"), at("2026-12-03T01:00:30Z"), heartbeat_seconds=30)
    assert _checked_at_stale({}, at("2026-12-03T01:00:00Z"))  # never written: write
