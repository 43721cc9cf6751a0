"""Pure status computation: children's status → components, phase and conditions; a drift
report → status.drift and the Drifted condition.

Conditions follow the Kubernetes API conventions (type, status, reason, message,
lastTransitionTime, observedGeneration) so kstatus and `kubectl wait --for=condition=Ready`
read them. lastTransitionTime only moves when a condition's status flips.

Status says only what was observed: a child that is missing makes the environment Degraded
(never "Provisioning" forever), a drift level that did not run is named as skipped or failed,
and without a usable baseline the drift verdict is `unknown`, never "none".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from parity import constants
from parity.drift.engine import DriftReport
from parity.drift.levels import RAN, describe_levels

WORKLOAD_KINDS = ("StatefulSet", "Deployment")
REASON_CHILD_MISSING = "ChildMissing"
# Status components (keys of status.components) and the condition each one feeds.
STATUS_COMPONENTS = ("etcd", "postgres", "redis", "sentinel", "observability")
CONDITION_OF = {
    "etcd": "EtcdReady",
    "postgres": "PostgresReady",
    "redis": "RedisReady",
    "sentinel": "RedisReady",
    "observability": "ObservabilityReady",
}


@dataclass(frozen=True)
class ComponentStatus:
    ready: int
    desired: int
    # A workload still rolling out its latest spec (or not created yet): members missing now
    # are expected, not lost.
    progressing: bool = False

    @property
    def is_ready(self) -> bool:
        return self.ready >= self.desired

    def to_dict(self) -> dict:
        return {"ready": self.ready, "desired": self.desired}


def _workload_counts(obj: dict) -> tuple[int, int, bool]:
    """(ready, desired, progressing) of one live workload at the replica count we want."""
    spec = obj.get("spec", {})
    status = obj.get("status", {})
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas") or 0)
    progressing = False
    # A workload whose controller has not seen its latest spec yet is not ready at that spec.
    generation = obj.get("metadata", {}).get("generation")
    if generation is not None and status.get("observedGeneration", 0) < generation:
        ready = min(ready, desired - 1) if desired else 0
        progressing = True
    if obj.get("kind") == "StatefulSet" and status.get("updatedReplicas") is not None:
        updated = int(status.get("updatedReplicas") or 0)
        # Fewer updated members is a rollout only while the controller rolls to a new revision.
        # At the same revision it means members are gone (a deleted pod is briefly not counted):
        # progressing there would turn a loss into "Provisioning", and then stay so.
        rolling_out = status.get("currentRevision") != status.get("updateRevision")
        progressing = progressing or (updated < desired and rolling_out)
        ready = min(ready, updated)
    return min(ready, desired), desired, progressing


def summarize_components(desired_children: list[dict], live_children: list[dict],
                         missing: Iterable[tuple[str, str]] = ()) -> dict[str, ComponentStatus]:
    """Ready/desired per component, from the workloads we want and the ones that exist.

    Desired counts come from the rendered manifests (a workload not created yet counts as 0
    ready and progressing); ready counts come from the live objects' own status. A workload
    in `missing` ((kind, name) of children deleted outside the operator) counts as lost, not
    as progressing: nothing is creating it.
    """
    gone = set(missing)
    live = {(o.get("kind"), o["metadata"]["name"]): o for o in live_children}
    totals: dict[str, ComponentStatus] = {}
    for obj in desired_children:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        component = obj["metadata"].get("labels", {}).get(constants.LABEL_COMPONENT, "unknown")
        key = "observability" if component not in STATUS_COMPONENTS else component
        desired = int(obj.get("spec", {}).get("replicas", 1))
        live_obj = live.get((obj["kind"], obj["metadata"]["name"]))
        if live_obj is None:
            ready, progressing = 0, (obj["kind"], obj["metadata"]["name"]) not in gone
        else:
            live_replicas = (live_obj.get("spec") or {}).get("replicas", desired)
            ready, _, progressing = _workload_counts({**live_obj, "spec": {"replicas": desired}})
            progressing = progressing or live_replicas != desired
        before = totals.get(key, ComponentStatus(0, 0))
        totals[key] = ComponentStatus(before.ready + ready, before.desired + desired, before.progressing or progressing)
    return totals


def compute_phase(components: dict[str, ComponentStatus], previous_phase: str | None,
                  missing: Iterable[tuple[str, str]] = (), *, rolling: bool = False) -> str:
    """`previous_phase` is the phase of the same spec (None when a new spec starts provisioning);
    `rolling` says the operator itself is restarting members one by one (actuation)."""
    if list(missing):
        # A deleted child is not re-created by event-driven syncs under the report policy:
        # waiting would be "Provisioning" forever.
        return "Degraded"
    if not components:
        return "Provisioning"
    if all(c.is_ready for c in components.values()):
        return "Ready"
    lost = not rolling and any(not c.is_ready and not c.progressing for c in components.values())
    if lost and previous_phase in ("Ready", "Degraded"):
        return "Degraded"
    return "Provisioning"


def condition(type_: str, status: bool | str, reason: str, message: str, generation: int | None) -> dict:
    value = status if isinstance(status, str) else ("True" if status else "False")
    return {"type": type_, "status": value, "reason": reason, "message": message,
            "observedGeneration": generation or 0}


def merge_conditions(previous: list[dict] | None, new: list[dict], now: str) -> list[dict]:
    """New conditions, keeping lastTransitionTime where the status did not change and keeping
    previous conditions of types not computed this time."""
    old = {c.get("type"): c for c in previous or []}
    merged = []
    for cond in new:
        before = old.pop(cond["type"], None)
        since = before.get("lastTransitionTime") if before and before.get("status") == cond["status"] else None
        merged.append({**cond, "lastTransitionTime": since or now})
    merged.extend(old.values())
    return sorted(merged, key=lambda c: c["type"])


def component_conditions(components: dict[str, ComponentStatus], generation: int | None) -> list[dict]:
    """EtcdReady, PostgresReady, RedisReady (Redis and its Sentinels), ObservabilityReady."""
    grouped: dict[str, list[tuple[str, ComponentStatus]]] = {}
    for name, comp in components.items():
        grouped.setdefault(CONDITION_OF[name], []).append((name, comp))
    result = []
    for ctype, parts in sorted(grouped.items()):
        ready = all(c.is_ready for _, c in parts)
        detail = ", ".join(f"{n} {c.ready}/{c.desired}" for n, c in parts)
        result.append(condition(ctype, ready, "Ready" if ready else "NotReady", f"ready members: {detail}", generation))
    return result


def describe_missing(missing: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{kind}/{name}" for kind, name in missing)


def ready_condition(phase: str, components: dict[str, ComponentStatus], generation: int | None,
                    missing: Iterable[tuple[str, str]] = ()) -> dict:
    missing = list(missing)
    if missing:
        return condition(constants.CONDITION_READY, False, REASON_CHILD_MISSING,
                         f"missing: {describe_missing(missing)} (deleted outside the operator; the Drifted "
                         "condition and status.drift say how to re-create)", generation)
    if phase == "Ready":
        return condition(constants.CONDITION_READY, True, "AllComponentsReady",
                         "every component has all its members ready", generation)
    waiting = [f"{n} {c.ready}/{c.desired}" for n, c in sorted(components.items()) if not c.is_ready]
    reason = "ComponentsDegraded" if phase == "Degraded" else "Provisioning"
    return condition(constants.CONDITION_READY, False, reason,
                     "waiting for " + (", ".join(waiting) or "children to be created"), generation)


REASON_ROLLING_RESTART = "RollingRestart"


def reconciling_condition(phase: str, missing: Iterable[tuple[str, str]], generation: int | None,
                          rolling: str | None = None) -> dict:
    """`rolling`: what a rolling restart of running members is doing (status.actuation.rolling)."""
    missing = list(missing)
    if rolling:
        return condition(constants.CONDITION_RECONCILING, True, REASON_ROLLING_RESTART, rolling, generation)
    if missing:
        return condition(constants.CONDITION_RECONCILING, False, REASON_CHILD_MISSING,
                         f"not re-creating {describe_missing(missing)}: spec.drift.policy report only reports; "
                         "any change of the ParityEnvironment, or policy enforce, re-creates them", generation)
    provisioning = phase == "Provisioning"
    return condition(constants.CONDITION_RECONCILING, provisioning, "Provisioning" if provisioning else "Converged",
                     "creating or waiting for children" if provisioning else "children match the spec", generation)


# ---- drift ---------------------------------------------------------------------------------

_DRIFT_REASONS = {"critical": "CriticalDrift", "warning": "WarningDrift", "info": "InfoDrift"}


def count_text(summary: dict) -> str:
    """Counts per severity, e.g. 1 critical, 2 warning, 0 info."""
    return f"{summary.get('critical', 0)} critical, {summary.get('warning', 0)} warning, {summary.get('info', 0)} info"


def drift_message(report: DriftReport, baseline_name: str) -> str:
    """The one-line verdict for the Drifted condition and status.drift.message. It never says
    "in parity" of a level that did not run."""
    cause = report.unknown_cause
    others = [o for o in report.levels if o is not cause]
    top = report.findings[0] if report.findings else None
    first = f"; first: {top.path}: {top.remediation}" if top is not None else ""
    if cause is not None:
        found = f"; found so far: {count_text(report.summary)}{first}" if report.total else ""
        rest = describe_levels(others, "", drifted=report.total > 0)
        return f"drift unknown: {cause.message or cause.reason}{found}" + (f"; {rest}" if rest else "")
    if report.total:
        rest = describe_levels(report.levels, baseline_name, drifted=True)
        return f"{count_text(report.summary)} against {baseline_name}{first}" + (f"; {rest}" if rest else "")
    return describe_levels(report.levels, baseline_name, drifted=False)


def drifted_condition(report: DriftReport, baseline_name: str, generation: int | None) -> dict:
    message = drift_message(report, baseline_name)
    cause = report.unknown_cause
    if cause is not None:
        return condition(constants.CONDITION_DRIFTED, "Unknown", cause.reason, message, generation)
    if report.total:
        return condition(constants.CONDITION_DRIFTED, True, _DRIFT_REASONS[report.highest], message, generation)
    return condition(constants.CONDITION_DRIFTED, False, "NoDrift", message, generation)


def drift_status(report: DriftReport, previous: dict, *, baseline_name: str, baseline_generation: int | None,
                 generation: int | None, now: str) -> dict:
    """status.drift: the report as status holds it, the verdict (`unknown` when it cannot be
    known), the summary message, and per level its state with when it was checked and when it
    last ran."""
    drift = report.to_status(max_findings=constants.MAX_STATUS_FINDINGS)
    had_drift = previous.get("highestSeverity") in constants.SEVERITIES or bool(previous.get("firstDetectedAt"))
    first = previous.get("firstDetectedAt") if had_drift and report.total else None
    previous_levels = previous.get("levels") if isinstance(previous.get("levels"), dict) else {}
    levels = {}
    for outcome in report.levels:
        before = previous_levels.get(outcome.level) if isinstance(previous_levels.get(outcome.level), dict) else {}
        last_ran = now if outcome.state == RAN else before.get("lastRanAt")
        levels[outcome.level] = {**outcome.to_dict(), "checkedAt": now, "lastRanAt": last_ran}
    drift.update({
        "baseline": baseline_name,
        "baselineGeneration": baseline_generation,
        "observedGeneration": generation,
        "checkedAt": now,
        "firstDetectedAt": (first or now) if report.total else None,
        "message": drift_message(report, baseline_name),
        "levels": levels,
    })
    return drift


# --- ParityNotifier ----------------------------------------------------------------------------

CONDITION_DELIVERING = "Delivering"
REASON_DELIVERY_FAILED = "DeliveryFailed"


def notifier_conditions(problems: list[tuple[str, str]], last: dict[str, tuple[bool, str]],
                        generation: int | None) -> list[dict]:
    """Ready: every target is usable (else the first problem's reason, with every message);
    Delivering: the last message of every target that was sent something was delivered (`last`:
    target → (delivered, why not)). Before any message it is Unknown: nothing was observed."""
    if problems:
        ready = condition("Ready", False, problems[0][0], "; ".join(m for _, m in problems), generation)
    else:
        ready = condition("Ready", True, "TargetsReady", "every target's Secret holds a usable URL", generation)
    failed = {name: why for name, (ok, why) in last.items() if not ok}
    if failed:
        message = "; ".join(f"target {name}: {why}" for name, why in sorted(failed.items()))
        delivering = condition(CONDITION_DELIVERING, False, REASON_DELIVERY_FAILED, message, generation)
    elif last:
        delivering = condition(CONDITION_DELIVERING, True, "Delivered",
                               f"last message delivered to {', '.join(sorted(last))}", generation)
    else:
        delivering = condition(CONDITION_DELIVERING, "Unknown", "NothingSent", "no message was sent yet", generation)
    return [ready, delivering]
