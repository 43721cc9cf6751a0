"""Rules: severity by first matching pattern, remediation templates, ignore lists."""

import pytest

from parity.api import parse_baseline
from parity.drift.finding import Finding
from parity.drift.rules import BUILTIN_RULES, assess, drop_ignored, find_rule, render_template, rules_of


def finding(path, **kw):
    base = dict(component="postgres", level="declared", change="modified", local="15", baseline="16", remediation="built-in")
    base.update(kw)
    return Finding(path=path, **base)


def baseline(rules, default="warning"):
    return parse_baseline({"rules": rules, "defaultSeverity": default})


def test_first_matching_rule_wins():
    bl = baseline([
        {"path": "postgres.parameters.max_connections", "severity": "critical"},
        {"path": "postgres.parameters.*", "severity": "info"},
        {"path": "postgres.**", "severity": "warning"},
    ])
    assert assess(finding("postgres.parameters.max_connections"), bl).severity == "critical"
    assert assess(finding("postgres.parameters.work_mem"), bl).severity == "info"
    assert assess(finding("postgres.version"), bl).severity == "warning"


def test_order_matters():
    bl = baseline([{"path": "postgres.**", "severity": "info"}, {"path": "postgres.version", "severity": "critical"}])
    assert assess(finding("postgres.version"), bl).severity == "info"


def test_default_severity_when_nothing_matches():
    bl = baseline([{"path": "redis.mode", "severity": "critical"}], default="info")
    assert assess(finding("postgres.version"), bl).severity == "info"


def test_builtin_rules_only_without_baseline_rules():
    bare = parse_baseline({})
    assert rules_of(bare) == BUILTIN_RULES
    assert assess(finding("postgres.version"), bare).severity == "critical"
    assert assess(finding("redis.mode"), bare).severity == "critical"
    assert assess(finding("postgres.patroni.synchronousMode"), bare).severity == "critical"
    assert assess(finding("etcd.replicas"), bare).severity == "warning"
    assert assess(finding("postgres.resources.limits.cpu"), bare).severity == "info"
    assert assess(finding("observability.grafana.enabled"), bare).severity == "info"
    # A baseline with its own rules does not get the built-in ones.
    own = baseline([{"path": "redis.mode", "severity": "info"}], default="info")
    assert assess(finding("postgres.version"), own).severity == "info"


def test_no_baseline_uses_builtin_rules_then_warning():
    assert assess(finding("postgres.version"), None).severity == "critical"
    assert assess(finding("something.else"), None).severity == "warning"


def test_explicit_default_overrides_default_severity():
    bl = baseline([{"path": "redis.mode", "severity": "critical"}], default="critical")
    assert assess(finding("runtime.redis.probe"), bl, default="warning").severity == "warning"
    bl2 = baseline([{"path": "runtime.*.probe", "severity": "info"}], default="critical")
    assert assess(finding("runtime.redis.probe"), bl2, default="warning").severity == "info"


def test_rule_template_placeholders():
    bl = baseline([{"path": "postgres.version", "severity": "critical",
                    "remediation": "bump {path} from {local} to {baseline} ({baselineName}, {severity}) {unknown} {0} {path.upper} {"}])
    out = assess(finding("postgres.version"), bl, "production")
    assert out.remediation == "bump postgres.version from 15 to 16 (production, critical) {unknown} {0} {path.upper} {"


def test_template_with_missing_sides_and_structures():
    f = finding("postgres.resources", local={"limits": {"cpu": "1"}}, baseline=None)
    assert render_template("{local}|{baseline}", f) == '{"limits":{"cpu":"1"}}|'


def test_no_template_keeps_builtin_remediation():
    bl = baseline([{"path": "postgres.version", "severity": "critical"}])
    assert assess(finding("postgres.version"), bl).remediation == "built-in"


def test_find_rule_returns_none_without_match():
    assert find_rule("x.y", ()) is None


@pytest.mark.parametrize(
    "patterns, kept",
    [
        ([], ["postgres.version", "postgres.parameters.work_mem", "redis.mode", "live.StatefulSet.spec.replicas"]),
        (["postgres.version"], ["postgres.parameters.work_mem", "redis.mode", "live.StatefulSet.spec.replicas"]),
        (["postgres.*"], ["postgres.parameters.work_mem", "redis.mode", "live.StatefulSet.spec.replicas"]),
        (["postgres.**"], ["redis.mode", "live.StatefulSet.spec.replicas"]),
        (["live.**", "redis.mode"], ["postgres.version", "postgres.parameters.work_mem"]),
        (["nothing.matches"], ["postgres.version", "postgres.parameters.work_mem", "redis.mode", "live.StatefulSet.spec.replicas"]),
    ],
)
def test_drop_ignored(patterns, kept):
    findings = [finding(p) for p in ["postgres.version", "postgres.parameters.work_mem", "redis.mode", "live.StatefulSet.spec.replicas"]]
    assert [f.path for f in drop_ignored(findings, patterns)] == kept
