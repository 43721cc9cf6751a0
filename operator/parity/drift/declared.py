"""Declared level: the environment's spec against its baseline's `environment`.

Both sides are compared as the API server would store them (camelCase, defaults filled in),
so a field left out of one file and set to its default in the other is no difference.
Values that differ only in spelling (`256MB` vs `262144kB`) are no difference either
(drift/normalize.py). A list is compared as a whole value.

Maps are compared key by key at every depth, however many of their keys differ, so a rule or
an ignore pattern on one key (a critical `postgres.parameters.max_connections`) always sees its
key. A map present on one side only is reported as one finding per leaf it holds.

Why a walk of our own and not DeepDiff (used here before): both sides are plain JSON data whose
only structure is maps, lists compared whole and scalars, so the walk is a few lines; DeepDiff's
general machinery (a tree of path objects, copied at each level) took about 70% of an
evaluation, p95 ~90 ms for 1,000 parameters (bench/bench_drift_engine.py).
"""

from __future__ import annotations

from typing import Any

from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.drift.finding import Finding, component_of_path, quote_value, render_value
from parity.drift.normalize import equivalent_at, same
from parity.drift.paths import Index, Key, Segment, render_path
from parity.drift.rules import assess_all


# Types whose equal values of one type are `same` without looking inside them.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _segment(key: Any) -> Segment:
    return Index(key) if isinstance(key, int) else Key(str(key))


def compare_maps(
    base: dict, local: dict, prefix: tuple[Segment, ...], out: dict[tuple[Segment, ...], tuple[str, Any, Any]]
) -> None:
    """Every difference under two maps at `prefix` into `out`: path segments -> (change, local, baseline)."""
    for key, base_value in base.items():
        if key not in local:
            for segments, value in _leaves(base_value, prefix + (_segment(key),)):
                out[segments] = ("removed", None, value)
            continue
        local_value = local[key]
        if local_value == base_value and type(local_value) is type(base_value) and type(local_value) in _SCALARS:
            continue  # `same` in short: most keys of a map are equal plain values
        if isinstance(base_value, dict) and isinstance(local_value, dict):
            compare_maps(base_value, local_value, prefix + (_segment(key),), out)
        elif not same(local_value, base_value):
            segments = prefix + (_segment(key),)
            if not equivalent_at(segments, local_value, base_value):
                out[segments] = ("modified", local_value, base_value)
    for key, local_value in local.items():
        if key not in base:
            for segments, value in _leaves(local_value, prefix + (_segment(key),)):
                out[segments] = ("added", value, None)


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


def _leaves(value: Any, segments: tuple[Segment, ...]) -> list[tuple[tuple[Segment, ...], Any]]:
    """(path, value) of every non-map value under `value` (lists are leaves); [] for an empty map."""
    if not isinstance(value, dict):
        return [(segments, value)]
    found = []
    for key, child in value.items():
        found.extend(_leaves(child, segments + (_segment(key),)))
    return found


def evaluate_declared(env: EnvironmentSpec, baseline: BaselineSpec, baseline_name: str = "") -> list[Finding]:
    local_wire = env.sections().to_wire()
    baseline_wire = baseline.environment.to_wire()
    seen: dict[tuple[Segment, ...], tuple[str, Any, Any]] = {}
    compare_maps(baseline_wire, local_wire, (), seen)

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
        findings.append(finding)
    return assess_all(findings, baseline, baseline_name)

