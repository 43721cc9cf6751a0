"""What changed between two versions of a baseline. Pure.

The findings are those an environment that matches OLD would get under NEW: `local` is OLD's
value, `baseline` NEW's, the severity and remediation come from NEW's rules (the built-in rules
when it has none), through the same declared-level engine as `parity diff`. So `change: removed`
means NEW sets something OLD did not, `added` that NEW no longer sets what OLD did.

Rule changes (a rule added, removed or re-rated, another defaultSeverity) are no finding of an
environment; `rule_changes` lists them as lines for a person.
"""

from __future__ import annotations

from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.drift.engine import DriftReport, evaluate_drift


def compare_baselines(old: BaselineSpec, new: BaselineSpec, new_name: str) -> DriftReport:
    environment = EnvironmentSpec.model_validate(old.environment.model_dump())
    return evaluate_drift(environment, new, new_name)


def rule_changes(old: BaselineSpec, new: BaselineSpec) -> list[str]:
    lines = []
    if old.default_severity != new.default_severity:
        lines.append(f"defaultSeverity: {old.default_severity} → {new.default_severity}")
    old_rules = {r.path: r for r in old.rules}
    new_rules = {r.path: r for r in new.rules}
    for path in sorted(old_rules.keys() - new_rules.keys()):
        lines.append(f"rule {path}: removed (was {old_rules[path].severity})")
    for path in sorted(new_rules.keys() - old_rules.keys()):
        lines.append(f"rule {path}: added ({new_rules[path].severity})")
    for path in sorted(old_rules.keys() & new_rules.keys()):
        before, after = old_rules[path], new_rules[path]
        if before.severity != after.severity:
            lines.append(f"rule {path}: severity {before.severity} → {after.severity}")
        elif before.remediation != after.remediation:
            lines.append(f"rule {path}: remediation changed")
    if [r.path for r in old.rules if r.path in new_rules] != [r.path for r in new.rules if r.path in old_rules]:
        lines.append("rules: reordered (the first matching rule wins)")
    return lines
