"""From what the actuators did to status.actuation and Events. Pure.

status.actuation.applied maps each setting path to the value last applied (a hash for a
credential): it is how the next pass tells a spec change (desired differs from applied: push
it) from a change someone made by hand to the running service (desired equals applied, the
service differs: runtime drift, reverted only under `enforce`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity import constants
from parity.actuate.base import ActuationResult, Change, applied_token

MAX_LISTED = 20
EVENT_SETTINGS_APPLIED = "SettingsApplied"
EVENT_ACTUATION_FAILED = "ActuationFailed"


@dataclass
class ActuationEvent:
    type: str
    reason: str
    message: str


@dataclass
class ActuationOutcome:
    record: dict[str, Any]
    events: list[ActuationEvent] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def summarize(previous: dict[str, Any] | None, desired: dict[str, Any], wanted: dict[str, Any],
              results: list[ActuationResult], now: str) -> ActuationOutcome:
    """The new status.actuation and the Events for one pass.

    `previous` is status.actuation before the pass, `desired` every setting the spec declares,
    `wanted` what this pass tried to apply (None for a path that left the spec)."""
    previous = previous or {}
    applied = dict(previous.get("applied") or {})
    done = {path for r in results for path in r.applied}
    failed = any(r.errors for r in results)
    for path, value in wanted.items():
        if value is None:
            if not failed:
                applied.pop(path, None)
        elif path in done:
            applied[path] = applied_token(path, value)
    changes = [c for r in results for c in r.changes]
    # A change is a correction when the spec did not move: the running value had been changed
    # by hand after the operator applied it.
    corrections = [c for c in changes if previous.get("applied", {}).get(c.path) == applied_token(c.path, desired.get(c.path))]
    spec_changes = [c for c in changes if c not in corrections]
    pending = sorted({p for r in results for p in r.pending})
    errors = sorted({e for r in results for e in r.errors})
    record: dict[str, Any] = {
        "applied": dict(sorted(applied.items())),
        "lastAppliedAt": now if changes else previous.get("lastAppliedAt"),
        "lastChanges": [c.describe() for c in changes][:MAX_LISTED] if changes else previous.get("lastChanges") or [],
        "pending": pending[:MAX_LISTED],
        "errors": errors[:MAX_LISTED],
    }
    record = {k: v for k, v in record.items() if v not in (None, [])}
    events = []
    if spec_changes:
        events.append(ActuationEvent("Normal", EVENT_SETTINGS_APPLIED, _listing("applied the spec to the running "
                                                                            "services", spec_changes)))
    if corrections:
        events.append(ActuationEvent("Normal", constants.EVENT_DRIFT_CORRECTED,
                                     _listing("reverted runtime drift", corrections)))
    if errors and errors != sorted(previous.get("errors") or []):
        events.append(ActuationEvent("Warning", EVENT_ACTUATION_FAILED, "; ".join(errors[:3])))
    return ActuationOutcome(record, events, changes)


EVENT_ROLLING_RESTART = "RollingRestart"


def with_rolling(record: dict[str, Any], description: str | None) -> dict[str, Any]:
    """status.actuation while a roll runs (description) or after it (None). Pure."""
    record = {k: v for k, v in record.items() if k != "rolling"}
    return {**record, "rolling": description} if description else record


def summarize_roll(record: dict[str, Any], result: ActuationResult, now: str) -> ActuationOutcome:
    """status.actuation and Events after a rolling restart. Pure."""
    record = with_rolling(record, None)
    events = []
    if result.changes:
        record["lastAppliedAt"] = now
        record["lastChanges"] = [c.describe() for c in result.changes][:MAX_LISTED]
        events.append(ActuationEvent("Normal", EVENT_ROLLING_RESTART,
                                     _listing("restarted PostgreSQL members for settings that need a restart",
                                              result.changes)))
    record["pending"] = sorted(result.pending)[:MAX_LISTED]
    record["errors"] = sorted(result.errors)[:MAX_LISTED]
    if result.errors:
        events.append(ActuationEvent("Warning", EVENT_ACTUATION_FAILED, "; ".join(result.errors[:3])))
    return ActuationOutcome({k: v for k, v in record.items() if v not in (None, [])}, events, result.changes)


def _listing(head: str, changes: list[Change]) -> str:
    shown = "; ".join(c.describe() for c in changes[:8])
    more = f" and {len(changes) - 8} more" if len(changes) > 8 else ""
    return f"{head}: {shown}{more}"
