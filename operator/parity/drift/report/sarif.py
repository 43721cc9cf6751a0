"""SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for code-scanning and policy tools.

One rule (reportingDescriptor) per baseline rule that decided a finding's severity, its id the
rule's path pattern and its help the rule's remediation; a finding that no rule matched (the
baseline's defaultSeverity) gets a rule of its own path. One result per finding, its level
mapped from the severity. An unknown verdict is reported as an unsuccessful invocation, so a
consumer never reads "no results" as "no drift".
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from parity import constants
from parity.drift.engine import DriftReport
from parity.drift.finding import Finding, render_value
from parity.drift.report.text import summary_line, where
from parity.drift.rules import Rule, find_rule

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "parity"
LEVELS = {"critical": "error", "warning": "warning", "info": "note"}
_VALUE_LIMIT = 512


def sarif_level(severity: str) -> str:
    return LEVELS.get(severity, "warning")


def _rule_for(finding: Finding, rules: tuple[Rule, ...] | None) -> tuple[str, Rule | None]:
    rule = find_rule(finding.path, rules) if rules is not None else None
    return (rule.path, rule) if rule is not None else (finding.path, None)


def _descriptor(rule_id: str, rule: Rule | None, first: Finding) -> dict[str, Any]:
    if rule is not None:
        short = f"Drift at {rule_id} is {rule.severity}"
        help_text = rule.remediation or first.remediation or f"Make {rule_id} match the baseline."
        severity = rule.severity
    else:
        short = f"Drift at {rule_id} (the baseline's default severity)"
        help_text = first.remediation or f"Make {rule_id} match the baseline."
        severity = first.severity
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": short},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": sarif_level(severity)},
        "properties": {"severity": severity, "component": first.component},
    }


def _result(finding: Finding, rule_id: str, rule_index: int, source: str | None) -> dict[str, Any]:
    local = "absent" if finding.local is None else render_value(finding.local, _VALUE_LIMIT)
    baseline = "absent" if finding.baseline is None else render_value(finding.baseline, _VALUE_LIMIT)
    text = f"{finding.severity} drift ({finding.level}, {finding.change}) at {where(finding)}: " \
           f"local {local}, baseline {baseline}."
    if finding.remediation:
        text += f" {finding.remediation}"
    location: dict[str, Any] = {
        "logicalLocations": [{"fullyQualifiedName": finding.path, "name": finding.path.rsplit(".", 1)[-1],
                              "kind": "member"}],
    }
    if source:
        location["physicalLocation"] = {"artifactLocation": {"uri": source}}
    properties: dict[str, Any] = {
        "severity": finding.severity,
        "component": finding.component,
        "level": finding.level,
        "change": finding.change,
        "local": local,
        "baseline": baseline,
    }
    for key in ("kind", "name", "manager"):
        value = getattr(finding, key)
        if value is not None:
            properties[key] = value
    return {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": sarif_level(finding.severity),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"parityPath/v1": f"{finding.level}:{finding.kind or ''}/{finding.name or ''}:"
                                                 f"{finding.path}:{finding.change}"},
        "properties": properties,
    }


def build_sarif(report: DriftReport, *, rules: Sequence[Rule] | None = None,
                source: str | None = None) -> dict[str, Any]:
    """The SARIF log as plain data. `rules`: the rules that rated the findings (a baseline's, or the
    built-in ones when it has none: see drift/rules.py rules_of); None when they are not known (a
    report read from status without its baseline): then each finding path is a rule of its own.
    `source`: the compared file's path (a URI reference) when there is one."""
    rules = tuple(rules) if rules is not None else None
    descriptors: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    results = []
    for finding in report.findings:
        rule_id, rule = _rule_for(finding, rules)
        if rule_id not in index_of:
            index_of[rule_id] = len(descriptors)
            descriptors.append(_descriptor(rule_id, rule, finding))
        results.append(_result(finding, rule_id, index_of[rule_id], source))
    cause = report.unknown_cause
    invocation: dict[str, Any] = {"executionSuccessful": cause is None}
    notes = [summary_line(report)]
    if report.truncated:
        notes.append(f"{report.truncated} more findings are counted but not listed (status keeps the first "
                     f"{len(report.findings)}).")
    invocation["toolExecutionNotifications"] = [
        {"level": "error" if cause is not None and i == 0 else "note", "message": {"text": text}}
        for i, text in enumerate(notes)
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL_NAME, "rules": descriptors}},
        "invocations": [invocation],
        "results": results,
        "properties": {
            "baseline": report.baseline,
            "verdict": report.verdict if report.levels else report.highest,
            "summary": {name: report.summary.get(name, 0) for name in reversed(constants.SEVERITIES)},
            "truncated": report.truncated,
        },
    }
    if report.baseline:
        run["automationDetails"] = {"id": f"parity/{report.baseline}/"}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(report: DriftReport, *, rules: Sequence[Rule] | None = None, source: str | None = None) -> str:
    return json.dumps(build_sarif(report, rules=rules, source=source), indent=2, default=str) + "\n"
