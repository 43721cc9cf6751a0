"""Issue 10.1: a difference in one key of a map is a finding at that key, on every level, however
many other keys of the map differ or are missing. Otherwise a critical rule on one key (or an
ignore pattern on it) is hidden inside one finding for the whole map.

Maps are generated so that most of their keys differ or are missing on one side; the checks:
- the findings are exactly the keys that differ (a path per key, never the map's own path);
- every rule that matches a key decides that key's severity;
- every ignore pattern removes exactly the findings at its key, and nothing else.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity import constants
from parity.api import parse_baseline, parse_environment
from parity.drift.engine import evaluate_drift
from parity.drift.live import evaluate_live
from parity.drift.paths import Key, render_path
from parity.drift.rules import drop_ignored
from parity.drift.runtime import evaluate_runtime
from parity.probes.base import ProbeResult

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
# Keys with a dot are one key (pg_stat_statements.max), written in brackets in a path.
keys = st.one_of(names, st.builds(lambda a, b: f"{a}.{b}", names, names))
# Most keys differ or are missing: that is what made DeepDiff collapse the whole map.
FATES = ("missing", "different", "different", "missing", "same")
RULE_SEVERITIES = ("warning", "critical")


@st.composite
def key_plans(draw, min_size=3, max_size=10):
    """{key: (fate, has_rule, rule_severity, ignored)} plus keys only the environment has."""
    chosen = draw(st.lists(keys, min_size=min_size, max_size=max_size, unique=True))
    plan = {}
    for key in chosen:
        plan[key] = (
            draw(st.sampled_from(FATES)),
            draw(st.booleans()),
            draw(st.sampled_from(RULE_SEVERITIES)),
            draw(st.booleans()),
        )
    extra = draw(st.lists(keys.filter(lambda k: k not in plan), max_size=3, unique=True))
    return plan, extra


def _path(*keys_: str) -> str:
    return render_path(tuple(Key(k) for k in keys_))


def _maps(plan, extra):
    """(baseline map, local map): values that differ never mean the same (no units, no booleans)."""
    base, local = {}, {}
    for i, (key, (fate, *_)) in enumerate(plan.items()):
        base[key] = f"b{i}x"
        if fate == "same":
            local[key] = base[key]
        elif fate == "different":
            local[key] = f"l{i}y"
    for i, key in enumerate(extra):
        local[key] = f"e{i}z"
    return base, local


def _expected_paths(prefix, plan, extra):
    differing = [k for k, (fate, *_) in plan.items() if fate != "same"] + list(extra)
    return {_path(*prefix, k) for k in differing}


def _rules_and_ignores(prefix, plan):
    # Rule paths are plain dotted text (the CRD allows no brackets): a run of plain segments
    # matches one key that contains dots. Ignore patterns use the path as printed.
    rules = [{"path": ".".join((*prefix, k)), "severity": sev} for k, (_, ruled, sev, _) in plan.items() if ruled]
    # A rule that matches nothing here: a baseline without rules would get the built-in ones,
    # and unmatched keys must show the baseline's defaultSeverity (info).
    rules.append({"path": "unrelated.path", "severity": "critical"})
    ignores = [_path(*prefix, k) for k, (*_, ignored) in plan.items() if ignored]
    return rules, ignores


def _check(findings_by_path, prefix, plan, extra, ignores):
    assert set(findings_by_path) == _expected_paths(prefix, plan, extra) - set(ignores)
    assert _path(*prefix) not in findings_by_path
    for key, (fate, ruled, severity, ignored) in plan.items():
        path = _path(*prefix, key)
        if fate == "same" or ignored:
            continue
        finding = findings_by_path[path]
        assert finding.severity == (severity if ruled else "info"), (path, finding)
        assert finding.change == ("removed" if fate == "missing" else "modified")
    for key in extra:
        assert findings_by_path[_path(*prefix, key)].change == "added"


SECTIONS = (("postgres", "parameters"), ("redis", "config"))


@SETTINGS
@given(st.sampled_from(SECTIONS), key_plans())
def test_declared_reports_every_key_of_a_mostly_different_map(prefix, plans):
    plan, extra = plans
    base_map, local_map = _maps(plan, extra)
    rules, ignores = _rules_and_ignores(prefix, plan)
    section, field = prefix
    baseline = parse_baseline({"environment": {section: {field: base_map}}, "rules": rules, "defaultSeverity": "info"})

    def env(ignore):
        return parse_environment({section: {field: local_map}, "drift": {"ignore": ignore}})

    unignored = {f.path: f for f in evaluate_drift(env([]), baseline, "b").findings}
    assert set(unignored) == _expected_paths(prefix, plan, extra)
    ignored = {f.path: f for f in evaluate_drift(env(ignores), baseline, "b").findings}
    # Exactly the findings at the ignored keys are gone; every other finding is unchanged.
    assert ignored == {p: f for p, f in unignored.items() if p not in set(ignores)}
    _check(ignored, prefix, plan, extra, ignores)


@SETTINGS
@given(st.sampled_from(("etcd", "postgres", "redis")), st.sampled_from(("requests", "limits")),
       st.booleans(), st.booleans())
def test_declared_reports_every_key_of_a_map_present_on_one_side_only(section, part, in_local, rule_on_memory):
    """Depth 3 (`<section>.resources.<part>.<key>`), the whole `resources` map on one side only."""
    resources = {part: {"cpu": "3", "memory": "3Gi"}}
    rules = [{"path": f"{section}.resources.{part}.memory", "severity": "critical"}] if rule_on_memory else []
    spec = {section: {"resources": resources}}
    env = parse_environment(spec if in_local else {})
    baseline = parse_baseline({"environment": {} if in_local else spec, "rules": rules, "defaultSeverity": "info"})
    found = {f.path: f for f in evaluate_drift(env, baseline, "b").findings}
    assert set(found) == {f"{section}.resources.{part}.cpu", f"{section}.resources.{part}.memory"}
    assert {f.change for f in found.values()} == {"added" if in_local else "removed"}
    assert found[f"{section}.resources.{part}.memory"].severity == ("critical" if rule_on_memory else "info")


# ---- live ----------------------------------------------------------------------------------


def _configmap(data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dev-config", "namespace": "ns", "labels": {constants.LABEL_COMPONENT: "postgres"}},
            "data": data}


@SETTINGS
@given(key_plans(), st.booleans())
def test_live_reports_every_key_of_a_mostly_different_map(plans, whole_map_gone):
    plan, extra = plans
    desired_data, local_data = _maps(plan, extra)
    desired = _configmap(desired_data)
    live = copy.deepcopy(desired)
    if whole_map_gone:
        # Someone emptied the map: every desired key is removed, none added.
        del live["data"]
        plan = {k: ("missing", *rest) for k, (_, *rest) in plan.items()}
        extra = []
    else:
        live["data"] = local_data
    # kubectl edit owns what it changed or added; removed keys are nobody's.
    changed = [k for k, v in (live.get("data") or {}).items() if desired_data.get(k) != v]
    live["metadata"]["managedFields"] = [
        {"manager": constants.FIELD_MANAGER, "operation": "Apply", "time": "2025-01-01T00:00:00Z",
         "fieldsV1": {"f:data": {f"f:{k}": {} for k in desired_data}}},
        {"manager": "kubectl-edit", "operation": "Update", "time": "2025-01-02T00:00:00Z",
         "fieldsV1": {"f:data": {f"f:{k}": {} for k in changed}}},
    ]
    prefix = ("live", "ConfigMap", "data")
    rules, ignores = _rules_and_ignores(prefix, plan)
    baseline = parse_baseline({"rules": rules, "defaultSeverity": "info"})
    unignored = {f.path: f for f in evaluate_live([desired], [live], baseline=baseline, baseline_name="b")}
    assert set(unignored) == _expected_paths(prefix, plan, extra)
    ignored = {f.path: f for f in drop_ignored(list(unignored.values()), ignores)}
    assert ignored == {p: f for p, f in unignored.items() if p not in set(ignores)}
    _check(ignored, prefix, plan, extra, ignores)


# ---- runtime -------------------------------------------------------------------------------


@SETTINGS
@given(key_plans())
def test_runtime_reports_every_key_a_probe_reads(plans):
    plan, _extra = plans
    spec_map, _ = _maps(plan, [])
    # What the running service reports: the spec's value for "same", another for the rest
    # (a probe reads every setting either side declares, so nothing is "missing" at runtime).
    effective = {k: (v if plan[k][0] == "same" else f"r{i}q") for i, (k, v) in enumerate(spec_map.items())}
    plan = {k: ("different" if fate == "missing" else fate, *rest) for k, (fate, *rest) in plan.items()}
    prefix = ("postgres", "parameters")
    rules, ignores = _rules_and_ignores(prefix, plan)
    env = parse_environment({"postgres": {"parameters": spec_map}, "drift": {"ignore": ignores}})
    baseline = parse_baseline({"rules": rules, "defaultSeverity": "info"})
    probe = ProbeResult("postgres", "dev-postgres:5432",
                        values={_path(*prefix, k): v for k, v in effective.items()})
    unignored = {f.path: f for f in evaluate_runtime([probe], env, baseline, "b")}
    assert set(unignored) == _expected_paths(prefix, plan, [])
    ignored = {f.path: f for f in evaluate_drift(env, baseline, "b", probe_results=[probe]).findings
               if f.level == "runtime"}
    assert ignored == {p: f for p, f in unignored.items() if p not in set(ignores)}
    _check(ignored, prefix, plan, [], ignores)
