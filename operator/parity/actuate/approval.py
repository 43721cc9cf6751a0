"""Corrections with approval (`spec.drift.policy: approve`). Pure.

Under `approve`, a runtime finding that `enforce` would revert becomes a *pending correction* in
status.actuation.pendingCorrections: which setting, its running value, the spec's value, what
the operator would run, and an id — a hash of the path and both values. `parity drift approve`
copies the ids of the chosen corrections into the annotation APPROVAL_ANNOTATION; the next
actuation pass applies exactly the pending corrections whose id is approved. A correction whose
running value changed since the approval has another id, so it is not applied: an approval is
for the change that was shown, never for whatever is there now.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from parity.actuate.base import (
    PATRONI,
    PATRONI_KEYS,
    POSTGRES_PARAMETERS,
    REDIS_CONFIG,
    SENTINEL,
    SENTINEL_OPTIONS,
    applied_token,
    shown,
)
from parity.drift.finding import Finding
from parity.drift.runtime import PENDING_RESTART

APPROVAL_ANNOTATION = "approvals.parity.dev/corrections"


def correction_id(path: str, local: Any, desired: Any) -> str:
    text = "\0".join((path, applied_token(path, local), applied_token(path, desired)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def action_for(path: str, desired: Any, master_group: str = "mymaster") -> str:
    """What the operator runs to correct `path`, in words a person can check. Credentials redacted."""
    value = shown(path, desired)
    if path.startswith(POSTGRES_PARAMETERS):
        name = path[len(POSTGRES_PARAMETERS):]
        return (f"PATCH /config postgresql.parameters.{name}={value} on Patroni, and ALTER SYSTEM RESET {name} "
                f"+ pg_reload_conf() on each member that overrides it")
    if path.startswith(PATRONI):
        return f"PATCH /config {PATRONI_KEYS.get(path[len(PATRONI):], path)}={value} on Patroni"
    if path.startswith(REDIS_CONFIG):
        return f"CONFIG SET {path[len(REDIS_CONFIG):]} {value} and CONFIG REWRITE on every Redis member"
    if path.startswith(SENTINEL):
        option = SENTINEL_OPTIONS.get(path[len(SENTINEL):], path)
        return f"SENTINEL SET {master_group} {option} {value} on every Sentinel"
    return f"set {path} to {value}"


def pending_corrections(findings: Iterable[Finding], desired: dict[str, Any],
                        master_group: str = "mymaster") -> list[dict[str, str]]:
    """The runtime findings on settings the operator can put back, as pending corrections."""
    pending = []
    for finding in findings:
        if finding.level != "runtime" or finding.path not in desired or finding.local == PENDING_RESTART:
            continue
        want = desired[finding.path]
        pending.append({
            "id": correction_id(finding.path, finding.local, want),
            "path": finding.path,
            "component": finding.component,
            "from": shown(finding.path, finding.local),
            "to": shown(finding.path, want),
            "action": action_for(finding.path, want, master_group),
        })
    return sorted(pending, key=lambda c: c["path"])


def parse_approvals(text: str | None) -> dict[str, str]:
    """path → approved id from the annotation (a JSON list of {"path", "id"}). Raises ValueError
    naming what is wrong."""
    if not text:
        return {}
    try:
        items = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"annotation {APPROVAL_ANNOTATION} is not JSON: {err.msg}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("path"), str)
                                              and isinstance(i.get("id"), str) for i in items):
        raise ValueError(f'annotation {APPROVAL_ANNOTATION} must be a JSON list of {{"path": ..., "id": ...}}')
    return {i["path"]: i["id"] for i in items}


def render_approvals(corrections: Iterable[dict[str, str]]) -> str:
    """The annotation value approving exactly these corrections."""
    return json.dumps([{"path": c["path"], "id": c["id"]} for c in corrections], separators=(",", ":"))


def approved_settings(pending: list[dict[str, str]], approvals: dict[str, str],
                      desired: dict[str, Any]) -> dict[str, Any]:
    """The desired values of the pending corrections whose id is approved, unchanged since."""
    return {c["path"]: desired[c["path"]] for c in pending
            if approvals.get(c["path"]) == c["id"] and c["path"] in desired}


# ------------------------------------------------------------------------------ live objects
# What `enforce` reverts on the live level (a child edited or deleted by hand) is a pending
# correction under `approve` too: one per object, since the correction re-applies the whole
# rendered object. Its path is `live:<Kind>/<name>`, so it cannot collide with a setting path.
LIVE_PREFIX = "live:"
_LIVE_VALUE_LIMIT = 80


def live_correction_path(kind: str, name: str) -> str:
    return f"{LIVE_PREFIX}{kind}/{name}"


def live_corrections(findings: Iterable[Finding], desired_keys: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Pending corrections for the live findings on objects the operator renders ((kind, name) in
    `desired_keys`). The id hashes every finding of the object with its values, so an object edited
    again after the approval is not re-applied on that approval."""
    from parity.drift.finding import render_value

    wanted = set(desired_keys)
    by_object: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.level == "live" and finding.kind and finding.name and (finding.kind, finding.name) in wanted:
            by_object.setdefault((finding.kind, finding.name), []).append(finding)
    pending = []
    for (kind, name), found in sorted(by_object.items()):
        found = sorted(found, key=lambda f: (f.path, f.change))

        def values(side: str) -> str:
            shown_values = []
            for f in found:
                value = getattr(f, side)
                text = "absent" if value is None else render_value(value, _LIVE_VALUE_LIMIT)
                shown_values.append(f"{f.path}={text}")
            return "; ".join(shown_values)

        path = live_correction_path(kind, name)
        pending.append({
            "id": hashlib.sha256("\0".join((path, values("local"), values("baseline"))).encode()).hexdigest()[:16],
            "path": path,
            "component": found[0].component,
            "from": values("local"),
            "to": values("baseline"),
            "action": f"server-side apply {kind}/{name} as rendered (force): puts back what was changed or deleted",
        })
    return pending


def approved_objects(pending: list[dict[str, str]], approvals: dict[str, str]) -> set[tuple[str, str]]:
    """(kind, name) of the live corrections whose id is approved."""
    chosen = set()
    for correction in pending:
        path = correction["path"]
        if path.startswith(LIVE_PREFIX) and approvals.get(path) == correction["id"]:
            kind, _, name = path[len(LIVE_PREFIX):].partition("/")
            chosen.add((kind, name))
    return chosen


def with_live_corrections(record: dict | None, live: list[dict[str, str]]) -> dict | None:
    """The actuation record with its live corrections replaced by `live` (the setting corrections
    come from the actuation pass, the live ones from each sync)."""
    kept = [c for c in (record or {}).get("pendingCorrections") or [] if not c["path"].startswith(LIVE_PREFIX)]
    merged = sorted(kept + live, key=lambda c: c["path"])
    if record is None and not merged:
        return None
    updated = {k: v for k, v in (record or {}).items() if k != "pendingCorrections"}
    if merged:
        updated["pendingCorrections"] = merged
    return updated
