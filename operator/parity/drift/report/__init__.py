"""Render a DriftReport in every output format of `parity diff` / `parity validate`.

One module per format family, each a pure function from the report to text:
text.py (table, json, yaml, junit), html.py (a self-contained page), sarif.py (SARIF 2.1.0 for
code-scanning tools), markdown.py (a table for pull-request comments).
"""

from __future__ import annotations

from typing import Sequence

from parity.drift.engine import DriftReport
from parity.drift.report.html import render_html
from parity.drift.report.markdown import render_markdown
from parity.drift.report.sarif import render_sarif
from parity.drift.report.text import (
    render_json,
    render_junit,
    render_table,
    render_yaml,
    summary_line,
    use_color,
)
from parity.drift.rules import Rule

__all__ = ["FORMATS", "render", "render_html", "render_json", "render_junit", "render_markdown", "render_sarif",
           "render_table", "render_yaml", "summary_line", "use_color"]

FORMATS = ("table", "json", "yaml", "junit", "html", "sarif", "markdown")


def render(report: DriftReport, fmt: str, *, fail_on: str = "critical", color: bool = False,
           rules: Sequence[Rule] | None = None, source: str | None = None) -> str:
    """`rules`: the baseline's rules (SARIF names one rule per rule that matched); `source`: what was
    compared (a file name or namespace/name), shown by the html, sarif and markdown formats."""
    if fmt == "table":
        return render_table(report, color=color)
    if fmt == "json":
        return render_json(report)
    if fmt == "yaml":
        return render_yaml(report)
    if fmt == "junit":
        return render_junit(report, fail_on)
    if fmt == "html":
        return render_html(report, source=source, fail_on=fail_on)
    if fmt == "sarif":
        return render_sarif(report, rules=rules, source=source)
    if fmt == "markdown":
        return render_markdown(report, source=source)
    raise ValueError(f"output format must be one of {', '.join(FORMATS)}, not {fmt!r}")
