"""The text formats of a DriftReport: table (for people), json and yaml (for tools), junit (for CI),
and the pieces the other formats share (summary line, cell text, where a finding is)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from typing import IO, Any, Mapping

import yaml

from parity import constants
from parity.drift.engine import DriftReport
from parity.drift.finding import Finding, render_value
from parity.drift.levels import level_notes

_COLOURS = {"critical": "\033[31m", "warning": "\033[33m"}
_BOLD = "\033[1m"
_RESET = "\033[0m"
_CELL_LIMIT = 40


def use_color(stream: IO[str] | None, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM=dumb."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR", "") != "" or environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def cell_text(value: Any) -> str:
    if value is None:
        return "-"
    return render_value(value, _CELL_LIMIT).replace("\n", " ")


def where(f: Finding) -> str:
    if f.level == "live" and f.kind and f.name:
        return f"{f.path} ({f.kind}/{f.name})"
    return f.path


def summary_line(report: DriftReport) -> str:
    """The verdict in one line; names the levels that were skipped or failed, and never says
    "no drift" when the verdict is unknown."""
    target = f'baseline "{report.baseline}"' if report.baseline else "the desired state"
    counts = ", ".join(f"{report.summary.get(n, 0)} {n}" for n in reversed(constants.SEVERITIES))
    noun = "finding" if report.total == 1 else "findings"
    cause = report.unknown_cause
    notes = level_notes(o for o in report.levels if o is not cause)
    if cause is not None:
        found = f"; {report.total} {noun} so far: {counts}" if report.total else ""
        line = f"Drift unknown against {target}: {cause.message or cause.phrase}{found}"
    elif report.total == 0:
        line = f"No drift against {target}"
    else:
        line = f"{report.total} {noun} against {target}: {counts}"
    return line + (f" ({'; '.join(notes)})" if notes else "") + "."


def render_table(report: DriftReport, *, color: bool = False) -> str:
    header = ("SEVERITY", "LEVEL", "CHANGE", "PATH", "LOCAL", "BASELINE")
    rows = [(f.severity, f.level, f.change, where(f), cell_text(f.local), cell_text(f.baseline)) for f in report.findings]
    lines = []
    if rows:
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        lines.append(_BOLD + line(header) + _RESET if color else line(header))
        for f, row in zip(report.findings, rows):
            text = line(row)
            if color and f.severity in _COLOURS:
                text = _COLOURS[f.severity] + text + _RESET
            lines.append(text)
            if f.remediation:
                lines.append(f"    -> {f.remediation}")
        lines.append("")
    lines.append(summary_line(report))
    if report.truncated:
        lines.append(f"({report.truncated} more not shown: status keeps the first {len(report.findings)}.)")
    return "\n".join(lines) + "\n"


def render_json(report: DriftReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str) + "\n"


def render_yaml(report: DriftReport) -> str:
    # Through JSON so that any value (Decimal, tuples) becomes plain YAML.
    data = json.loads(json.dumps(report.to_dict(), default=str))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def render_junit(report: DriftReport, fail_on: str) -> str:
    """One testcase per finding; those at or above `fail_on` fail. No drift: one passing testcase."""
    threshold = constants.SEVERITY_RANK[fail_on]
    suite_name = f"parity drift against {report.baseline}" if report.baseline else "parity drift"
    suites = ET.Element("testsuites", name="parity")
    suite = ET.SubElement(suites, "testsuite", name=suite_name)
    failures = 0
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=f"parity.{f.level}.{f.component}", name=where(f))
        detail = (
            f"{f.severity} {f.change} {f.path}\nlocal: {cell_text(f.local)}\nbaseline: {cell_text(f.baseline)}\n"
            f"{f.remediation}"
        )
        if constants.SEVERITY_RANK.get(f.severity, -1) >= threshold:
            failures += 1
            failure = ET.SubElement(case, "failure", message=f.remediation or f.path, type=f.severity)
            failure.text = detail
        else:
            ET.SubElement(case, "system-out").text = detail
    if report.truncated:
        case = ET.SubElement(suite, "testcase", classname="parity.status", name="findings not kept in status")
        ET.SubElement(case, "system-out").text = f"{report.truncated} more findings are counted but not listed."
    errors = 0
    if report.unknown_cause is not None:
        # An unknown verdict is an error of the run, not a pass.
        errors = 1
        case = ET.SubElement(suite, "testcase", classname="parity.verdict", name="drift verdict")
        ET.SubElement(case, "error", message=summary_line(report), type="unknown")
    elif not report.findings:
        ET.SubElement(suite, "testcase", classname="parity", name=summary_line(report))
    tests = len(suite)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suites.set("tests", str(tests))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

