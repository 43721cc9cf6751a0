"""The service behind the handlers: one function that brings an environment's children and
status up to date. Handlers only decide *when* it runs and with which permissions to write.

    read spec → check → render → apply (only what changed) → read children → status → drift
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from parity import constants, metrics
from parity.actuate.approval import (
    APPROVAL_ANNOTATION,
    approved_objects,
    live_corrections,
    parse_approvals,
    with_live_corrections,
)
from parity.api import SpecError, parse_baseline, parse_environment
from parity.guards import (
    REASON_CREDENTIALS_LOST,
    REASON_NAME_CONFLICT,
    lost_credentials_message,
    name_conflict_message,
    resumes_after_refusal,
)
from parity.api.models import BaselineSpec
from parity.drift.engine import Skip, evaluate_drift
from parity.drift.levels import BASELINE_NOT_FOUND, INVALID_BASELINE, NO_BASELINE, runtime_skip
from parity.drift.live import missing_objects, present_objects
from parity.kube import resources
from parity.kube.apply import (
    HASH_ANNOTATION,
    apply_object,
    delete_object,
    object_key,
    patch_status,
    with_hash,
)
from parity.kube.children import (
    ChildReader,
    after_writes,
    list_children,
    postgres_data_evidence,
    resolve_missing,
    select_prunable,
)
from parity.kube.client import Kube, KubeError
from parity.plan import is_refused_write, plan_changes, refusal_for_write
from parity.probes.base import ProbeResult
from parity.render import postgres as postgres_render
from parity.render.checks import check_combinations
from parity.render.environment import build_children
from parity.render.images import PUBLISHED, ImageCatalog
from parity.status import (
    compute_phase,
    component_conditions,
    condition,
    count_text,
    drift_status,
    drifted_condition,
    merge_conditions,
    ready_condition,
    reconciling_condition,
    summarize_components,
)

log = logging.getLogger(__name__)

# Rewrite status.drift.checkedAt at least this often even when nothing else changed: a freshness
# heartbeat, not news. Every write is a watch event for every client of the object, so it is kept
# rare (PARITY_STATUS_HEARTBEAT_SECONDS): 1,000 idle environments at 60 s were ~17 writes/s.
CHECKED_AT_REFRESH_SECONDS = 600


@dataclass
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Outcome:
    status: dict
    events: list[Event] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    status_written: bool = False
    body: dict | None = None
    # The environment's resourceVersion after the sync: its status write's, else the one it read
    # (handlers/quiet.py: a timer pass that would read the same is skipped).
    resource_version: str | None = None


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# A status write from an older read gets 409; the sync runs again this many times in all.
STATUS_CONFLICT_ATTEMPTS = 4


class StatusConflict(KubeError):
    """The environment changed between the sync's read and its status write (409). Handlers
    treat it as any 409: a temporary error."""

    def __init__(self, error: KubeError):
        super().__init__(error.status, error.reason, str(error))


class WriteRefused(Exception):
    """A write the API server refused with a 4xx that retrying will not change."""

    def __init__(self, kind: str, name: str, action: str, error: KubeError):
        self.refusal = refusal_for_write(kind, name, action, str(error))
        super().__init__(self.refusal.message)


def _write(action: str, kube: Kube, obj: dict) -> dict | None:
    """Every write of a child (apply or delete); a refused one stops the sync (WriteRefused).
    Returns the object as the API server stored it after an apply (None after a delete)."""
    try:
        if action == "apply":
            return apply_object(kube, obj, force=True)
        delete_object(kube, obj)
        return None
    except KubeError as err:
        if is_refused_write(err.status):
            raise WriteRefused(obj["kind"], obj["metadata"]["name"], action, err) from None
        raise


def sync_environment(kube: Kube, namespace: str, name: str, *, apply_changes: bool,
                     runtime: list[ProbeResult] | None = None, runtime_probes: bool = True,
                     actuation: dict | None = None, now: str | None = None,
                     catalog: ImageCatalog = PUBLISHED,
                     heartbeat_seconds: float = CHECKED_AT_REFRESH_SECONDS,
                     children: ChildReader = list_children,
                     baselines: BaselineReader | None = None) -> Outcome | None:
    """Converge one ParityEnvironment and write its status. Returns None when it is gone or
    being deleted. A spec the models refuse (stored before the schema refused it) and a write
    the API server refuses end the sync at once with Stalled=True and the reason.
    `runtime` is the last probe results (None: none yet); `runtime_probes` False says the
    operator does not probe at all, so the runtime level is skipped for that reason.
    `actuation` is the last status.actuation record (parity.actuation; None: keep the stored one).
    `heartbeat_seconds`: how old drift.checkedAt may get before a status with nothing new is written.
    `children` finds the children first (LISTs by default; the operator's watch-fed index,
    kube/index.py). After the sync's own writes, what the API server answered to them replaces
    what was read (kube.children.after_writes): no second read of every child kind.
    `baselines` reads a ParityBaseline by name (a GET by default; the operator's watch-fed index)."""
    now = now or now_iso()
    try:
        for attempt in range(STATUS_CONFLICT_ATTEMPTS):
            try:
                return _sync_environment(kube, namespace, name, apply_changes=apply_changes, runtime=runtime,
                                         runtime_probes=runtime_probes, actuation=actuation, now=now,
                                         catalog=catalog, heartbeat_seconds=heartbeat_seconds,
                                         children=children, baselines=baselines or get_baseline)
            except StatusConflict:
                # Someone wrote the environment after our read: sync again from the new state
                # (children are applied by hash, so the second pass writes none of them again).
                if attempt + 1 == STATUS_CONFLICT_ATTEMPTS:
                    raise
                log.info("%s/%s: status changed while syncing (409), syncing again", namespace, name)
    except WriteRefused as refused:
        body = kube.get(resources.ENVIRONMENT.object_path(name, namespace))
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        previous = body.get("status") or {}
        return _refuse(kube, Outcome(status={}, body=body), previous, refused.refusal.reason,
                       refused.refusal.message, previous.get("phase") or "Failed", body["metadata"].get("generation"),
                       now)


def _sync_environment(kube: Kube, namespace: str, name: str, *, apply_changes: bool,
                      runtime: list[ProbeResult] | None, runtime_probes: bool, actuation: dict | None,
                      now: str, catalog: ImageCatalog, heartbeat_seconds: float,
                      children: ChildReader, baselines: BaselineReader) -> Outcome | None:
    body = kube.get(resources.ENVIRONMENT.object_path(name, namespace))
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    meta = body["metadata"]
    generation = meta.get("generation")
    previous = body.get("status") or {}
    outcome = Outcome(status={}, body=body)
    try:
        spec = parse_environment(body.get("spec") or {}, source=f"ParityEnvironment {namespace}/{name}")
    except SpecError as err:
        # Stored before the schema refused it (the API server keeps unchanged old values): say
        # so in status rather than fail silently in kopf.
        return _refuse(kube, outcome, previous, "InvalidSpec", "; ".join(err.problems), "Failed", generation, now)
    # The refused sync's changes were never applied; any sync applies them once the cause is gone.
    resuming = not apply_changes and resumes_after_refusal(previous)
    apply_changes = apply_changes or resuming

    problems = check_combinations(spec, catalog)
    if problems:
        # Nothing is applied: a half-built topology is worse than none.
        return _refuse(kube, outcome, previous, "InvalidSpec", "; ".join(problems), "Failed", generation, now)

    uid = meta["uid"]
    secret_name = postgres_render.secret_name(name)

    # A sync that writes what was refused reads as the spec handler does (fresh; the handler
    # chose `children` for a sync that would not write).
    live = (list_children(kube, namespace, name, uid, secret_names=(secret_name,)) if resuming
            else children(kube, namespace, name, uid, secret_names=(secret_name,)))
    secret_values = None
    if not any(o["kind"] == "Secret" for o in live):
        statefulset = postgres_render.statefulset_name(name)
        evidence = postgres_data_evidence(kube, namespace, live, statefulset,
                                          f"{postgres_render.DATA_VOLUME}-{statefulset}-")
        lost = lost_credentials_message(namespace, name, secret_name, evidence)
        if lost:  # never new passwords for a database that has some
            return _refuse(kube, outcome, previous, REASON_CREDENTIALS_LOST, lost, "Failed", generation, now)
        secret_values = postgres_render.generate_passwords()
    desired = [with_hash(m) for m in build_children(name, namespace, uid, spec, secret_values=secret_values,
                                                    catalog=catalog,
                                                    secret_keys=credentials_keys(live, secret_values))]
    late, conflicts = resolve_missing(kube, desired, live, name, uid)
    # Ours, but not in `live` yet (an index behind our own writes): live, neither missing nor foreign.
    live = live + late
    if conflicts:
        return _refuse(kube, outcome, previous, REASON_NAME_CONFLICT, name_conflict_message(conflicts), "Failed",
                       generation, now)
    plan = plan_changes(desired, live, env_name=name, hash_annotation=HASH_ANNOTATION, previous_status=previous,
                        generation=generation, may_write=apply_changes)
    if plan.refused:
        # Nothing is applied; the running children keep serving until the change is undone.
        return _refuse(kube, outcome, previous, plan.reason, plan.message,
                       previous.get("phase") or "Provisioning", generation, now)
    if plan.names("roll"):
        log.info("%s/%s: pods are replaced in %s", namespace, name, ", ".join(plan.names("roll")))
    live_by_key = {object_key(o): o for o in live}

    written: list[dict] = []
    for manifest in desired:
        current = live_by_key.get(object_key(manifest))
        wanted_hash = manifest["metadata"]["annotations"][HASH_ANNOTATION]
        missing = current is None
        stale = current is not None and current["metadata"].get("annotations", {}).get(HASH_ANNOTATION) != wanted_hash
        # Event-driven syncs (children, baseline, timer) do not write children: a deleted or
        # edited child is live drift (`missing`, `modified`, ...), which only the enforce policy
        # reverts (below, through _enforce, with a DriftCorrected event).
        if (missing or stale) and apply_changes:
            written.append(_write("apply", kube, manifest))
            outcome.applied.append("{}/{}".format(*object_key(manifest)[::2]))
    pruned = select_prunable(desired, live, name, uid) if apply_changes else []
    _prune(kube, pruned, outcome)
    if written or pruned:
        live = after_writes(live, written, pruned)

    # Children the spec handler has applied for this generation and that are gone now were
    # deleted; while a new generation waits for that handler, absent children are merely not
    # created yet (an event-driven sync does not advance status.observedGeneration).
    applied_generation = generation if apply_changes else previous.get("observedGeneration")
    expected = desired if applied_generation == generation else present_objects(desired, live)
    baseline_name = (spec.baseline_ref.name if spec.baseline_ref else None)
    skips = {constants.DRIFT_LEVELS[2]: runtime_skip(runtime_probes)}
    baseline_read = read_baseline(kube, baseline_name, baselines)
    drift_status, drift_condition, drift_events, report = _evaluate(
        spec, baseline_name, baseline_read, expected, live, runtime, skips, previous.get("drift") or {},
        generation, now)

    # Live drift is reverted under enforce, and under approve only what was approved (the rest
    # waits in status.actuation.pendingCorrections); the level is then read and judged again.
    to_revert, said = [], ""
    if spec.drift.policy == "enforce":
        to_revert, said = expected, "reverted live drift: "
    elif spec.drift.policy == "approve":
        chosen = approved_objects(live_corrections(report.findings, [object_key(m)[::2] for m in expected]),
                                  _approvals(meta))
        to_revert = [m for m in expected if object_key(m)[::2] in chosen]
        said = "approved, reverted live drift: "
    reverted = _enforce(kube, to_revert, report) if to_revert else []
    if reverted:
        names = ["{}/{}".format(*object_key(o)[::2]) for o in reverted]
        outcome.events.append(Event("Normal", constants.EVENT_DRIFT_CORRECTED, said + ", ".join(names)))
        outcome.applied.extend(names)
        live = after_writes(live, reverted, [])
        drift_status, drift_condition, drift_events, report = _evaluate(
            spec, baseline_name, baseline_read, expected, live, runtime, skips, previous.get("drift") or {},
            generation, now)
    live_pending = (live_corrections(report.findings, [object_key(m)[::2] for m in expected])
                    if spec.drift.policy == "approve" else [])
    outcome.events.extend(drift_events)

    missing = missing_objects(expected, live)
    components = summarize_components(desired, live, missing)
    rolling = (actuation or previous.get("actuation") or {}).get("rolling")
    # A new spec provisions afresh: members it adds or replaces are expected, not lost.
    same_spec_phase = previous.get("phase") if previous.get("observedGeneration") == generation else None
    phase = compute_phase(components, same_spec_phase, missing, rolling=bool(rolling))
    conditions = [
        ready_condition(phase, components, generation, missing),
        reconciling_condition(phase, missing, generation, rolling=rolling),
        condition(constants.CONDITION_STALLED, False, "Progressing", "no blocking problem", generation),
        drift_condition,
        *component_conditions(components, generation),
    ]
    status = {
        "observedGeneration": applied_generation,
        "phase": phase,
        "conditions": merge_conditions(previous.get("conditions"), conditions, now),
        "components": {k: v.to_dict() for k, v in sorted(components.items())},
        "drift": drift_status,
        "actuation": with_live_corrections(actuation if actuation is not None else previous.get("actuation"),
                                           live_pending),
    }
    outcome.status = status
    outcome.status_written, outcome.resource_version = _write_status(
        kube, namespace, name, previous, status, meta.get("resourceVersion"), heartbeat_seconds)
    metrics.record_environment(namespace, name, drift_status)
    return outcome


def _refuse(kube: Kube, outcome: Outcome, previous: dict, reason: str, message: str, phase: str,
            generation: int | None, now: str) -> Outcome:
    """Status for a spec the operator will not act on: nothing is applied, Stalled says why."""
    meta = outcome.body["metadata"]
    conditions = [
        condition(constants.CONDITION_READY, False, reason, message, generation),
        condition(constants.CONDITION_STALLED, True, reason, message, generation),
        condition(constants.CONDITION_RECONCILING, False, reason, "waiting for a spec that can be applied", generation),
    ]
    status = {**previous, "observedGeneration": generation, "phase": phase,
              "conditions": merge_conditions(previous.get("conditions"), conditions, now)}
    outcome.status = status
    outcome.status_written, outcome.resource_version = _write_status(
        kube, meta["namespace"], meta["name"], previous, status, meta.get("resourceVersion"))
    stalled_before = {c.get("type"): c for c in previous.get("conditions") or []}.get(constants.CONDITION_STALLED, {})
    if outcome.status_written and stalled_before.get("reason") != reason:
        outcome.events.append(Event("Warning", reason, message))
    return outcome


def credentials_keys(live: list[dict], secret_values: dict[str, str] | None) -> frozenset[str] | None:
    """The keys the credentials Secret holds, for rendering: None (every key) with a new Secret;
    an older Secret's own keys (render/postgres.py says why it does not get new ones)."""
    if secret_values is not None:
        return None
    secret = next((o for o in live if o["kind"] == "Secret"), None)
    return None if secret is None else frozenset(k for k, v in (secret.get("data") or {}).items() if v)


# (kube, baseline name) -> the ParityBaseline's body, or None when there is none.
BaselineReader = Callable[[Kube, str], "dict | None"]


def get_baseline(kube: Kube, baseline_name: str) -> dict | None:
    """A BaselineReader that asks the API server (the CLI; the operator reads its index)."""
    return kube.get(resources.BASELINE.object_path(baseline_name))


def read_baseline(kube: Kube, baseline_name: str | None, baselines: BaselineReader = get_baseline,
                  ) -> tuple[BaselineSpec | None, int | None, Skip | None]:
    """The baseline, its generation, or why the declared level cannot run."""
    if not baseline_name:
        return None, None, Skip(NO_BASELINE, "spec.baselineRef is not set: nothing to compare with")
    body = baselines(kube, baseline_name)
    if body is None:
        return None, None, Skip(BASELINE_NOT_FOUND,
                                f"ParityBaseline {baseline_name!r} does not exist: kubectl get pbl")
    generation = body["metadata"].get("generation", 0)
    try:
        return parse_baseline(body.get("spec") or {}, source=f"ParityBaseline {baseline_name}"), generation, None
    except SpecError as err:
        return None, generation, Skip(INVALID_BASELINE, str(err))


def _evaluate(spec, baseline_name, baseline_read, desired, live, runtime, skips, previous_drift, generation, now):
    """Drift status, the Drifted condition, transition events and the report. Every level that
    can run does, with or without a baseline; the verdicts are status.py's. `baseline_read`
    is read_baseline's answer."""
    baseline, baseline_generation, baseline_skip = baseline_read
    if baseline_skip is not None:
        skips = {**skips, constants.DRIFT_LEVELS[0]: baseline_skip}
    with metrics.DRIFT_EVALUATION_SECONDS.time():
        report = evaluate_drift(spec, baseline, baseline_name or "", desired=desired, live=live,
                                probe_results=runtime, field_manager=constants.FIELD_MANAGER, skips=skips)
    drift = drift_status(report, previous_drift, baseline_name=baseline_name or "",
                         baseline_generation=baseline_generation, generation=generation, now=now)
    cond = drifted_condition(report, baseline_name or "", generation)

    events = []
    against = f" against {baseline_name}" if baseline_name else ""
    def key(f: dict) -> tuple:
        # Live findings on two objects of one kind share a path; the name tells them apart.
        return f.get("level"), f.get("kind"), f.get("name"), f.get("path")

    old_keys = {key(f) for f in previous_drift.get("findings") or []}
    new_findings = [f for f in drift["findings"] if key(f) not in old_keys]
    had_drift = any((previous_drift.get("summary") or {}).get(s, 0) for s in constants.SEVERITIES)
    if report.total and new_findings:
        shown = ", ".join(f"{f['path']} ({f['severity']})" for f in new_findings[:5])
        more = f" and {len(new_findings) - 5} more" if len(new_findings) > 5 else ""
        events.append(Event("Warning", constants.EVENT_DRIFT_DETECTED,
                            f"{count_text(drift['summary'])}{against}; new: {shown}{more}"))
    elif report.verdict == "none" and had_drift:
        events.append(Event("Normal", constants.EVENT_DRIFT_RESOLVED, f"back in parity with {baseline_name}"))
    if report.verdict == "unknown" and previous_drift.get("highestSeverity") != "unknown":
        events.append(Event("Warning", constants.EVENT_DRIFT_UNKNOWN, cond["message"]))
    return drift, cond, events, report


def _prune(kube: Kube, prunable: list[dict], outcome: Outcome) -> None:
    """Delete children the spec no longer asks for (observability switched off, standalone
    Redis without Sentinels); kube.children.select_prunable decides which (ours only, never
    the credentials Secret)."""
    for obj in prunable:
        _write("delete", kube, obj)
        outcome.applied.append(f"-{obj['kind']}/{obj['metadata']['name']}")


def _enforce(kube: Kube, desired: list[dict], report) -> list[dict]:
    """Re-apply every desired object that has live-level drift (re-creating missing ones);
    returns them as the API server stored them."""
    drifted = {(f.kind, f.name) for f in report.findings if f.level == "live" and f.kind and f.name}
    return [_write("apply", kube, manifest) for manifest in desired
            if (manifest["kind"], manifest["metadata"]["name"]) in drifted]


def _approvals(meta: dict) -> dict[str, str]:
    """Approved corrections from the annotation; a malformed one approves nothing (the actuation
    pass records why in status.actuation.errors)."""
    try:
        return parse_approvals((meta.get("annotations") or {}).get(APPROVAL_ANNOTATION))
    except ValueError:
        return {}


def _prune_none(value):
    if isinstance(value, dict):
        return {k: _prune_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_none(v) for v in value]
    return value


def _comparable(status: dict) -> dict:
    drift = dict(status.get("drift") or {})
    drift.pop("checkedAt", None)
    levels = drift.get("levels")
    if isinstance(levels, dict):
        # Per-level times move with every check, like checkedAt: not news on their own.
        drift["levels"] = {k: {f: v for f, v in (o or {}).items() if f not in ("checkedAt", "lastRanAt")}
                           for k, o in levels.items()}
    return {**status, "drift": drift}


def merge_patch(previous: dict, new: dict) -> dict:
    """A JSON merge patch turning `previous` into `new`: keys that disappeared become None
    (at every mapping level); lists are replaced whole."""
    patch = {}
    for key, value in new.items():
        before = previous.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            patch[key] = merge_patch(before, value)
        else:
            patch[key] = value
    for key in previous:
        if key not in new:
            patch[key] = None
    return patch


def _write_status(kube: Kube, namespace: str, name: str, previous: dict, status: dict,
                  resource_version: str | None,
                  heartbeat_seconds: float = CHECKED_AT_REFRESH_SECONDS) -> tuple[bool, str | None]:
    """Write status only when it says something new (or checkedAt is getting old), so resyncs
    and our own child events do not churn the object. The patch is computed from `previous`,
    so it is conditional on the resourceVersion that was read with it (StatusConflict if not).
    Returns (written, the object's resourceVersion after it: the write's, else the one read)."""
    status = _prune_none(status)
    if _comparable(previous) == _comparable(status) and not _checked_at_stale(previous, status, heartbeat_seconds):
        return False, resource_version
    try:
        answer = patch_status(kube, resources.ENVIRONMENT, namespace, name, merge_patch(previous, status),
                              resource_version=resource_version)
    except KubeError as err:
        if err.status == 409:
            raise StatusConflict(err) from None
        raise
    return True, ((answer or {}).get("metadata") or {}).get("resourceVersion")


def _checked_at_stale(previous: dict, status: dict, heartbeat_seconds: float = CHECKED_AT_REFRESH_SECONDS) -> bool:
    before = (previous.get("drift") or {}).get("checkedAt")
    after = (status.get("drift") or {}).get("checkedAt")
    if not before or not after:
        return before != after
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    try:
        delta = datetime.strptime(after, fmt) - datetime.strptime(before, fmt)
    except ValueError:
        return True
    return delta.total_seconds() >= heartbeat_seconds
