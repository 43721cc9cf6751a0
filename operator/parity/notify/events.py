"""Which notification (if any) a new drift verdict calls for, per target. Pure.

A target sees only the findings at or above its `minSeverity`. What it was last sent is kept as
a `Sent` (the fingerprint of that finding set and its highest severity), so:

- the same set of findings is sent once (dedupe), however often the operator re-evaluates;
- `DriftDetected`: findings appear where the target had none, or the set changes without its
  highest severity rising (it lists the new and the resolved findings);
- `DriftEscalated`: the highest severity rises (warning → critical);
- `DriftResolved`: the target had been told about findings and none is left at its threshold;
- an unknown verdict (a level failed, no usable baseline) sends nothing: "resolved" or "still
  drifting" cannot be claimed.

`cause` says why the verdict changed when the caller knows it (a baseline change names the
baseline and its new resourceVersion), so that a message can say "staging changed".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from parity import constants

DETECTED, ESCALATED, RESOLVED = "DriftDetected", "DriftEscalated", "DriftResolved"
KINDS = (DETECTED, ESCALATED, RESOLVED)
_RANK = {severity: rank for rank, severity in enumerate(constants.SEVERITIES)}  # info < warning < critical
# The fields that make two findings the same finding (remediation text may be re-worded).
IDENTITY = ("level", "path", "kind", "name", "change", "severity")


@dataclass(frozen=True)
class Sent:
    fingerprint: str
    highest: str | None
    findings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Notification:
    kind: str
    findings: tuple[dict[str, Any], ...]
    new: tuple[dict[str, Any], ...]
    resolved: tuple[dict[str, Any], ...]
    highest: str | None
    fingerprint: str
    summary: dict[str, int] = field(default_factory=dict)


def rank(severity: str | None) -> int:
    return _RANK.get(severity or "", -1)


def identity(finding: Mapping[str, Any]) -> tuple:
    return tuple(str(finding.get(k) or "") for k in IDENTITY)


def fingerprint(findings: Iterable[Mapping[str, Any]]) -> str:
    keys = sorted(identity(f) for f in findings)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16] if keys else ""


def at_or_above(findings: Iterable[Mapping[str, Any]], threshold: str) -> tuple[dict[str, Any], ...]:
    return tuple(dict(f) for f in findings if rank(f.get("severity")) >= rank(threshold))


def decide(drift: Mapping[str, Any] | None, previous: Sent | None, threshold: str) -> Notification | None:
    """The notification for `drift` (an environment's status.drift) given what the target was
    last sent, or None (nothing new, or the verdict is unknown)."""
    if not isinstance(drift, Mapping):
        return None
    verdict = drift.get("highestSeverity")
    if verdict not in ("none", *constants.SEVERITIES):
        return None  # unknown: claim nothing
    findings = at_or_above(drift.get("findings") or (), threshold)
    current = fingerprint(findings)
    before = previous.fingerprint if previous is not None else ""
    if current == before:
        return None
    highest = max((f.get("severity") for f in findings), key=rank, default=None)
    known = {identity(f) for f in (previous.findings if previous is not None else ())}
    now = {identity(f) for f in findings}
    new = tuple(f for f in findings if identity(f) not in known)
    resolved = tuple(f for f in (previous.findings if previous is not None else ()) if identity(f) not in now)
    summary = {s: sum(1 for f in findings if f.get("severity") == s) for s in reversed(constants.SEVERITIES)}
    if not findings:
        kind = RESOLVED
    elif previous is not None and previous.findings and rank(highest) > rank(previous.highest):
        kind = ESCALATED
    else:
        kind = DETECTED
    return Notification(kind, findings, new, resolved, highest, current, summary)


def sent(notification: Notification) -> Sent:
    """What to remember once `notification` was delivered."""
    return Sent(notification.fingerprint, notification.highest, notification.findings)


def cause_of(seen: tuple[str, Any] | None, drift: Mapping[str, Any] | None) -> str | None:
    """Why an environment's verdict changed, when its baseline did: `seen` is the (baseline name,
    baselineGeneration) of the verdict seen before this one. Pure."""
    if not isinstance(drift, Mapping) or seen is None:
        return None
    name, generation = drift.get("baseline"), drift.get("baselineGeneration")
    if not name:
        return None
    if seen[0] != name:
        return f"spec.baselineRef now names ParityBaseline {name} (was {seen[0] or 'none'})"
    if generation is not None and seen[1] is not None and generation != seen[1]:
        return f"ParityBaseline {name} changed (generation {seen[1]} → {generation})"
    return None
