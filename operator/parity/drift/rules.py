"""Severity and remediation of a finding, from path rules.

A baseline's `rules` are tried in order and the first whose path pattern matches the finding
path decides the severity (and, when it has one, the remediation template). No match means
the baseline's `defaultSeverity`. A baseline without any rules gets BUILTIN_RULES instead.
Pattern syntax: see drift/paths.py (`*` one segment, `**` zero or more).

A remediation template may use {path}, {local}, {baseline}, {severity}, {component}, {level},
{change}, {kind}, {name}, {manager} and {baselineName}; anything else in braces is left as
written, so a template can never fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parity import constants
from parity.api.models import BaselineSpec
from parity.drift.finding import Finding, render_value
from parity.drift.paths import compile_patterns

# What a finding gets when there is no baseline at all (live level on its own) and for probe failures.
FALLBACK_SEVERITY = "warning"


@dataclass(frozen=True)
class Rule:
    path: str
    severity: str
    remediation: str | None = None


# First match wins, so specific paths come before the wildcards that would also match them.
BUILTIN_RULES: tuple[Rule, ...] = (
    Rule("postgres.version", "critical"),
    Rule("redis.mode", "critical"),
    Rule("postgres.patroni.synchronousMode", "critical"),
    Rule("postgres.parameters.wal_level", "critical"),
    Rule("postgres.patroni.failsafeMode", "warning"),
    Rule("etcd.version", "warning"),
    Rule("redis.version", "warning"),
    Rule("etcd.replicas", "warning"),
    Rule("postgres.replicas", "warning"),
    Rule("redis.replicas", "warning"),
    Rule("redis.sentinel.quorum", "warning"),
    Rule("*.resources.**", "info"),
    Rule("postgres.storage.**", "info"),
    Rule("*.image", "info"),
    Rule("observability.**", "info"),
    Rule("postgres.parameters.*", "warning"),
    Rule("redis.config.*", "warning"),
    # A deleted workload or Service (change: missing): the environment does not serve without it.
    Rule("live.StatefulSet", "critical"),
    Rule("live.Deployment", "critical"),
    Rule("live.Service", "critical"),
    # A `kubectl rollout restart` stamps this annotation; it restarts pods but changes nothing.
    Rule("live.*.spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt", "info"),
    Rule("live.*.spec.template.spec.containers.*.resources.**", "info"),
    Rule("live.**", "warning"),
    Rule("runtime.*.probe", "warning"),
)

_PLACEHOLDER = re.compile(r"\{(path|local|baseline|severity|component|level|change|kind|name|manager|baselineName)\}")


def rules_of(baseline: BaselineSpec | None) -> tuple[Rule, ...]:
    if baseline is not None and baseline.rules:
        return tuple(Rule(r.path, r.severity, r.remediation) for r in baseline.rules)
    return BUILTIN_RULES


def find_rule(path: str, rules: tuple[Rule, ...]) -> Rule | None:
    """The first rule whose pattern matches `path`, or None."""
    position = compile_patterns(rule.path for rule in rules).first_match(path)
    return None if position is None else rules[position]


def render_template(template: str, finding: Finding, baseline_name: str = "") -> str:
    return _render_template(template, finding, finding.severity, baseline_name)


def _render_template(template: str, finding: Finding, severity: str, baseline_name: str) -> str:
    # `severity` apart from the finding so that assess renders with the severity it is about to
    # set, and copies the finding only once.
    values = {
        "path": finding.path,
        "local": "" if finding.local is None else render_value(finding.local),
        "baseline": "" if finding.baseline is None else render_value(finding.baseline),
        "severity": severity,
        "component": finding.component,
        "level": finding.level,
        "change": finding.change,
        "kind": finding.kind or "",
        "name": finding.name or "",
        "manager": finding.manager or "",
        "baselineName": baseline_name,
    }
    try:
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    except Exception:  # noqa: BLE001 - a template is user text; show it as written rather than fail
        return template


def assess(
    finding: Finding,
    baseline: BaselineSpec | None,
    baseline_name: str = "",
    *,
    default: str | None = None,
) -> Finding:
    """The finding with the severity and remediation the rules give it.

    `default` overrides the baseline's defaultSeverity for findings that are not differences
    of configuration (a probe that could not reach its service).
    """
    return assess_all([finding], baseline, baseline_name, default=default)[0]


def assess_all(
    findings: list[Finding], baseline: BaselineSpec | None, baseline_name: str = "", *, default: str | None = None
) -> list[Finding]:
    """assess for each finding; the rules are read and compiled once for all of them."""
    rules = rules_of(baseline)
    patterns = compile_patterns(rule.path for rule in rules)
    if default is not None:
        unmatched = default
    elif baseline is not None:
        unmatched = baseline.default_severity
    else:
        unmatched = FALLBACK_SEVERITY
    assessed = []
    for finding in findings:
        position = patterns.first_match(finding.path)
        rule = None if position is None else rules[position]
        severity = unmatched if rule is None else rule.severity
        if severity not in constants.SEVERITY_RANK:
            severity = FALLBACK_SEVERITY
        remediation = finding.remediation
        if rule is not None and rule.remediation:
            remediation = _render_template(rule.remediation, finding, severity, baseline_name)
        if severity == finding.severity and remediation == finding.remediation:
            assessed.append(finding)
        else:
            # Built from its fields: dataclasses.replace costs half as much again, which shows
            # over a thousand findings.
            assessed.append(Finding(**{**vars(finding), "severity": severity, "remediation": remediation}))
    return assessed


def is_ignored(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    return compile_patterns(patterns).first_match(path) is not None


def drop_ignored(findings: list[Finding], patterns: list[str] | tuple[str, ...]) -> list[Finding]:
    """Exactly the findings whose path no ignore pattern matches."""
    if not patterns:
        return list(findings)
    compiled = compile_patterns(patterns)
    return [f for f in findings if compiled.first_match(f.path) is None]
