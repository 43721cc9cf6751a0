"""Pure status computation: children's status → components, phase and conditions.

Conditions follow the Kubernetes API conventions (type, status, reason, message,
lastTransitionTime, observedGeneration) so kstatus and `kubectl wait --for=condition=Ready`
read them. lastTransitionTime only moves when a condition's status flips.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity import constants

WORKLOAD_KINDS = ("StatefulSet", "Deployment")
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
        progressing = progressing or updated < desired
        ready = min(ready, updated)
    return min(ready, desired), desired, progressing


def summarize_components(desired_children: list[dict], live_children: list[dict]) -> dict[str, ComponentStatus]:
    """Ready/desired per component, from the workloads we want and the ones that exist.

    Desired counts come from the rendered manifests (a workload not created yet counts as 0
    ready); ready counts come from the live objects' own status.
    """
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
            ready, progressing = 0, True
        else:
            live_replicas = (live_obj.get("spec") or {}).get("replicas", desired)
            ready, _, progressing = _workload_counts({**live_obj, "spec": {"replicas": desired}})
            progressing = progressing or live_replicas != desired
        before = totals.get(key, ComponentStatus(0, 0))
        totals[key] = ComponentStatus(before.ready + ready, before.desired + desired, before.progressing or progressing)
    return totals


def compute_phase(components: dict[str, ComponentStatus], previous_phase: str | None) -> str:
    if not components:
        return "Provisioning"
    if all(c.is_ready for c in components.values()):
        return "Ready"
    lost = any(not c.is_ready and not c.progressing for c in components.values())
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


def ready_condition(phase: str, components: dict[str, ComponentStatus], generation: int | None) -> dict:
    if phase == "Ready":
        return condition(constants.CONDITION_READY, True, "AllComponentsReady",
                         "every component has all its members ready", generation)
    waiting = [f"{n} {c.ready}/{c.desired}" for n, c in sorted(components.items()) if not c.is_ready]
    reason = "ComponentsDegraded" if phase == "Degraded" else "Provisioning"
    return condition(constants.CONDITION_READY, False, reason,
                     "waiting for " + (", ".join(waiting) or "children to be created"), generation)
