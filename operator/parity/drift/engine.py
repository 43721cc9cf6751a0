"""The drift engine: every comparison of the operator and the CLI goes through evaluate_drift.

declared (spec vs baseline) + live (desired vs live objects) + runtime (probes vs spec)
-> severity and remediation from the rules -> minus spec.drift.ignore -> sorted findings,
critical first, then by path; and for each level whether it ran, was skipped (why) or failed
(drift/levels.py), which decides whether the verdict is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from parity import constants
from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.drift.declared import evaluate_declared
from parity.drift.finding import Finding, render_value
from parity.drift.levels import (
    NO_BASELINE,
    NOT_REQUESTED,
    UNKNOWN,
    LevelOutcome,
    Skip,
    failed,
    ran,
    runtime_state,
    skipped,
    unknown_cause,
)
from parity.drift.live import evaluate_live
from parity.drift.rules import drop_ignored
from parity.drift.runtime import evaluate_runtime
from parity.probes.base import ProbeResult

__all__ = ["DriftReport", "Finding", "LevelOutcome", "Skip", "evaluate_drift", "count_severities",
           "STATUS_VALUE_LIMIT"]

NO_DRIFT = "none"
# status.drift values are strings; a long one (a whole map) is cut so that status stays small.
STATUS_VALUE_LIMIT = 512


def count_severities(findings: Iterable[Finding]) -> dict[str, int]:
    summary = {name: 0 for name in reversed(constants.SEVERITIES)}
    for finding in findings:
        if finding.severity in summary:
            summary[finding.severity] += 1
    return summary


@dataclass(frozen=True)
class DriftReport:
    """Findings against one baseline, sorted; `summary` counts all of them, shown or not."""

    baseline: str
    findings: tuple[Finding, ...] = ()
    summary: dict[str, int] = field(default_factory=lambda: count_severities(()))
    # Findings counted in `summary` but not carried in `findings` (a report read from status).
    truncated: int = 0
    # What each level did (empty for a report built from findings alone).
    levels: tuple[LevelOutcome, ...] = ()

    @classmethod
    def from_findings(cls, baseline: str, findings: Iterable[Finding],
                      levels: Iterable[LevelOutcome] = ()) -> "DriftReport":
        ordered = tuple(sorted(findings, key=lambda f: f.sort_key))
        return cls(baseline=baseline, findings=ordered, summary=count_severities(ordered), levels=tuple(levels))

    @property
    def unknown_cause(self) -> LevelOutcome | None:
        """The level that makes the verdict unknown (failed, or no usable baseline), or None."""
        return unknown_cause(self.levels)

    @property
    def verdict(self) -> str:
        """`unknown` when a level that decides the verdict did not run, else `highest`. Findings
        that were found are kept either way; only the claim "that is all" is withheld."""
        return UNKNOWN if self.unknown_cause is not None else self.highest

    @property
    def highest(self) -> str:
        """The highest severity found, or 'none'."""
        for name in reversed(constants.SEVERITIES):
            if self.summary.get(name, 0) > 0:
                return name
        return NO_DRIFT

    @property
    def total(self) -> int:
        return sum(self.summary.get(name, 0) for name in constants.SEVERITIES)

    def exceeds(self, fail_on: str) -> bool:
        """Whether any finding is at or above `fail_on` (info, warning or critical)."""
        if fail_on not in constants.SEVERITY_RANK:
            raise ValueError(f"fail-on must be one of {', '.join(constants.SEVERITIES)}, not {fail_on!r}")
        threshold = constants.SEVERITY_RANK[fail_on]
        return any(self.summary.get(name, 0) > 0 for name in constants.SEVERITIES[threshold:])

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML document of `parity diff`."""
        document: dict[str, Any] = {
            "baseline": self.baseline,
            "summary": {name: self.summary.get(name, 0) for name in reversed(constants.SEVERITIES)},
            "items": [f.to_dict() for f in self.findings],
        }
        if self.levels:
            document["verdict"] = self.verdict
            document["levels"] = {o.level: o.to_dict() for o in self.levels}
        return document

    def to_status(self, max_findings: int = constants.MAX_STATUS_FINDINGS) -> dict[str, Any]:
        """The status.drift subset the engine owns (the operator adds timestamps and generations).

        local and baseline are rendered as strings because the CRD types them so; a side that
        is absent is omitted.
        """
        shown = self.findings[: max(max_findings, 0)]
        items = []
        for f in shown:
            item: dict[str, Any] = {
                "path": f.path,
                "component": f.component,
                "level": f.level,
                "change": f.change,
                "severity": f.severity,
                "remediation": f.remediation,
            }
            if f.local is not None:
                item["local"] = render_value(f.local, STATUS_VALUE_LIMIT)
            if f.baseline is not None:
                item["baseline"] = render_value(f.baseline, STATUS_VALUE_LIMIT)
            for key in ("kind", "name", "manager", "member"):
                value = getattr(f, key)
                if value is not None:
                    item[key] = value
            items.append(item)
        status = {
            "baseline": self.baseline,
            "highestSeverity": self.verdict if self.levels else self.highest,
            "summary": {name: self.summary.get(name, 0) for name in reversed(constants.SEVERITIES)},
            "truncated": self.truncated + len(self.findings) - len(shown),
            "findings": items,
        }
        if self.levels:
            status["levels"] = {o.level: o.to_dict() for o in self.levels}
        return status

    @classmethod
    def from_status(cls, drift: dict[str, Any]) -> "DriftReport":
        """A report read back from status.drift (values are the strings status holds)."""
        findings = []
        for item in drift.get("findings") or ():
            if not isinstance(item, dict):
                continue
            findings.append(
                Finding(
                    path=str(item.get("path", "")),
                    component=str(item.get("component", "")),
                    level=str(item.get("level", "")),
                    change=str(item.get("change", "")),
                    local=item.get("local"),
                    baseline=item.get("baseline"),
                    severity=str(item.get("severity", "")),
                    remediation=str(item.get("remediation", "")),
                    kind=item.get("kind"),
                    name=item.get("name"),
                    manager=item.get("manager"),
                    member=item.get("member"),
                )
            )
        raw_summary = drift.get("summary") if isinstance(drift.get("summary"), dict) else None
        summary = count_severities(findings)
        if raw_summary is not None:
            for name in constants.SEVERITIES:
                try:
                    summary[name] = max(int(raw_summary.get(name, 0)), summary[name])
                except (TypeError, ValueError):
                    pass
        try:
            truncated = max(int(drift.get("truncated") or 0), 0)
        except (TypeError, ValueError):
            truncated = 0
        ordered = tuple(sorted(findings, key=lambda f: f.sort_key))
        raw_levels = drift.get("levels") if isinstance(drift.get("levels"), dict) else {}
        levels = tuple(LevelOutcome.from_dict(level, raw_levels[level])
                       for level in constants.DRIFT_LEVELS if level in raw_levels)
        return cls(baseline=str(drift.get("baseline") or ""), findings=ordered, summary=summary, truncated=truncated,
                   levels=levels)


def evaluate_drift(
    env: EnvironmentSpec,
    baseline: BaselineSpec | None,
    baseline_name: str,
    *,
    desired: list[dict] | None = None,
    live: list[dict] | None = None,
    probe_results: Iterable[ProbeResult] | None = None,
    field_manager: str = constants.FIELD_MANAGER,
    skips: Mapping[str, Skip] | None = None,
) -> DriftReport:
    """All levels at once. The declared level runs with a baseline, the live level when both
    `desired` and `live` are given, the runtime level when `probe_results` is. A level that
    does not run is recorded as skipped, with the reason from `skips` (keyed by level) when the
    caller knows one; a level that raises is recorded as failed. Without a baseline the live
    and runtime findings are rated by the built-in rules."""
    skips = skips or {}
    declared, live_level, runtime = constants.DRIFT_LEVELS
    findings: list[Finding] = []
    levels: list[LevelOutcome] = []

    def skip_of(level: str, default: Skip) -> Skip:
        return skips.get(level) or default

    if baseline is None:
        levels.append(skipped(declared, skip_of(declared, Skip(NO_BASELINE, "no baseline to compare with"))))
    else:
        try:
            findings += evaluate_declared(env, baseline, baseline_name)
            levels.append(ran(declared))
        except Exception as err:  # noqa: BLE001 - a level that breaks makes the verdict unknown, not the sync fail
            levels.append(failed(declared, err))
    if desired is None or live is None:
        levels.append(skipped(live_level, skip_of(live_level, Skip(NOT_REQUESTED, "live objects not compared"))))
    else:
        try:
            findings += evaluate_live(desired, live, field_manager, baseline=baseline, baseline_name=baseline_name)
            levels.append(ran(live_level))
        except Exception as err:  # noqa: BLE001 - see above
            levels.append(failed(live_level, err))
    if probe_results is None:
        levels.append(skipped(runtime, skip_of(runtime, Skip(NOT_REQUESTED, "running services not probed"))))
    else:
        results = list(probe_results)
        try:
            findings += evaluate_runtime(results, env, baseline, baseline_name)
            levels.append(runtime_state(results))
        except Exception as err:  # noqa: BLE001 - see above
            levels.append(failed(runtime, err))
    findings = drop_ignored(findings, env.drift.ignore)
    return DriftReport.from_findings(baseline_name, findings, levels)
