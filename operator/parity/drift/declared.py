"""Declared level: the environment's spec against its baseline's `environment`.

Both sides are compared as the API server would store them (camelCase, defaults filled in),
so a field left out of one file and set to its default in the other is no difference.
Values that differ only in spelling (`256MB` vs `262144kB`) are no difference either
(drift/normalize.py). A list is compared as a whole value.

Maps are compared key by key at every depth, however many of their keys differ: DeepDiff
would otherwise report a map whose keys mostly differ as one change of the whole map
(threshold_to_diff_deeper), and a rule or an ignore pattern on one key (a critical
`postgres.parameters.max_connections`) would never see its key. A map present on one side
only is reported as one finding per leaf it holds.
"""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.drift.finding import Finding, component_of_path, quote_value, render_value
from parity.drift.normalize import equivalent_at
from parity.drift.paths import Index, Key, Segment, render_path
from parity.drift.rules import assess

_CHANGES = {
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "values_changed": "modified",
    "type_changes": "modified",
}


def _segments(keys: list[Any]) -> tuple[Segment, ...]:
    return tuple(Index(k) if isinstance(k, int) else Key(str(k)) for k in keys)


def _lookup(data: Any, keys: list[Any]) -> Any:
    for key in keys:
        data = data[key]
    return data


def describe_declared(path: str, change: str, local: Any, baseline: Any, baseline_name: str) -> str:
    """The built-in remediation: what to put in the environment's spec."""
    target = f"spec.{path}"
    who = baseline_name or "the baseline"
    if change == "added":
        return f"remove {target} (set to {quote_value(local)} here): {who} does not set it"
    if change == "removed":
        return f"set {target} to {quote_value(baseline)}: {who} sets it, this environment does not"
    return (
        f"set {target} to {quote_value(baseline)}: {who} runs {render_value(baseline, 80)}, "
        f"this environment runs {render_value(local, 80)}"
    )


def _leaves(value: Any, keys: list[Any]) -> list[tuple[list[Any], Any]]:
    """(keys, value) of every non-map value under `value` (lists are leaves); [] for an empty map."""
    if not isinstance(value, dict):
        return [(keys, value)]
    found = []
    for key, child in value.items():
        found.extend(_leaves(child, keys + [key]))
    return found


def evaluate_declared(env: EnvironmentSpec, baseline: BaselineSpec, baseline_name: str = "") -> list[Finding]:
    local_wire = env.sections().to_wire()
    baseline_wire = baseline.environment.to_wire()
    # threshold_to_diff_deeper=0: always descend into maps (see the module docstring).
    diff = DeepDiff(baseline_wire, local_wire, view="tree", threshold_to_diff_deeper=0)
    seen: dict[tuple[Segment, ...], tuple[str, Any, Any]] = {}
    for report_type, levels in diff.items():
        for level in levels:
            keys = level.path(output_format="list")
            if any(isinstance(k, int) for k in keys):
                # Lists are compared whole: report the list, not its items.
                keys = keys[: next(i for i, k in enumerate(keys) if isinstance(k, int))]
                segments = _segments(keys)
                if segments not in seen:
                    local, base = _lookup(local_wire, keys), _lookup(baseline_wire, keys)
                    if not equivalent_at(segments, local, base):
                        seen[segments] = ("modified", local, base)
                continue
            change = _CHANGES.get(report_type, "modified")
            local = None if level.t2 is notpresent else level.t2
            base = None if level.t1 is notpresent else level.t1
            if change in ("added", "removed"):
                # A map on one side only: one finding per key inside it, at any depth.
                added = change == "added"
                for leaf_keys, value in _leaves(local if added else base, keys):
                    seen[_segments(leaf_keys)] = (change, value, None) if added else (change, None, value)
                continue
            segments = _segments(keys)
            if change == "modified" and equivalent_at(segments, local, base):
                continue
            seen[segments] = (change, local, base)

    findings = []
    for segments, (change, local, base) in seen.items():
        path = render_path(segments)
        finding = Finding(
            path=path,
            component=component_of_path([s.name for s in segments[:2] if isinstance(s, Key)]),
            level="declared",
            change=change,
            local=local,
            baseline=base,
            remediation=describe_declared(path, change, local, base, baseline_name),
        )
        findings.append(assess(finding, baseline, baseline_name))
    return findings

