"""A compact Markdown table for pull-request comments.

Cells are escaped so that a value can neither break the table (`|`, newlines) nor inject
markup or HTML into the comment (`<`, `>`, `&`, backticks, `*`, `_`, `[`, `]`).
"""

from __future__ import annotations

from parity import constants
from parity.drift.engine import DriftReport
from parity.drift.finding import render_value
from parity.drift.report.text import summary_line, where

_CELL_LIMIT = 80
_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_",
            "[": "\\[", "]": "\\]", "\\": "\\\\"}


def escape_cell(text: str) -> str:
    """Text safe inside one GitHub-flavoured Markdown table cell."""
    text = "".join(_ESCAPES.get(ch, ch) for ch in text)
    return " ".join(text.split())  # newlines and runs of blanks would end the row


def _value(value) -> str:
    return "–" if value is None else escape_cell(render_value(value, _CELL_LIMIT))


def render_markdown(report: DriftReport, *, source: str | None = None) -> str:
    counts = " · ".join(f"{_ICONS[name]} {report.summary.get(name, 0)} {name}" for name in reversed(constants.SEVERITIES))
    title = "### Parity drift"
    if source:
        title += f": {escape_cell(source)}"
    lines = [title, "", escape_cell(summary_line(report)), "", counts, ""]
    if report.findings:
        lines.append("| Severity | Component | Level | Path | Local | Baseline | Remediation |")
        lines.append("|---|---|---|---|---|---|---|")
        for f in report.findings:
            lines.append(
                f"| {_ICONS.get(f.severity, '')} {escape_cell(f.severity)} | {escape_cell(f.component)} "
                f"| {escape_cell(f.level)} | {escape_cell(where(f))} | {_value(f.local)} | {_value(f.baseline)} "
                f"| {escape_cell(f.remediation) or '–'} |"
            )
        lines.append("")
    if report.truncated:
        lines.append(f"_{report.truncated} more not shown: status keeps the first {len(report.findings)}._")
        lines.append("")
    return "\n".join(lines)
