"""A self-contained HTML page of a DriftReport: one file, nothing fetched from anywhere.

Inline CSS (light and dark through prefers-color-scheme, a print stylesheet), findings grouped
by component and then by severity, local and baseline values side by side with the remediation
under them, a summary header with the counts, and a filter box run by a small inline script
that the page's Content-Security-Policy allows by its hash (and nothing else: no network, no
other script). Every value is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from itertools import groupby
from typing import Any

from parity import constants
from parity.drift.engine import DriftReport
from parity.drift.finding import Finding, render_value
from parity.drift.report.text import summary_line, where

_COMPONENT_ORDER = (
    constants.COMPONENT_ETCD,
    constants.COMPONENT_POSTGRES,
    constants.COMPONENT_REDIS,
    constants.COMPONENT_SENTINEL,
    constants.COMPONENT_OBSERVABILITY,
)
_VALUE_LIMIT = 2000

_CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --card: #f6f8fa;
  --border: #d1d9e0; --critical: #cf222e; --warning: #9a6700; --info: #0969da; --code: #eff2f5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #161b22; --border: #3d444d;
    --critical: #ff7b72; --warning: #d29922; --info: #58a6ff; --code: #1f2428; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { border-bottom: 1px solid var(--border); padding-bottom: 1rem; margin-bottom: 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; text-transform: capitalize; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
.muted { color: var(--muted); }
.counts { display: flex; gap: .75rem; flex-wrap: wrap; margin: .75rem 0; }
.count { border: 1px solid var(--border); border-radius: 6px; padding: .35rem .8rem; background: var(--card); }
.count b { font-size: 1.3rem; margin-right: .3rem; }
.sev-critical { color: var(--critical); } .sev-warning { color: var(--warning); } .sev-info { color: var(--info); }
.verdict-unknown { color: var(--critical); font-weight: 600; }
.filter { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
.filter input { font: inherit; padding: .35rem .6rem; min-width: 18rem; color: var(--fg); background: var(--bg);
  border: 1px solid var(--border); border-radius: 6px; }
article { border: 1px solid var(--border); border-left: 4px solid var(--border); border-radius: 6px;
  background: var(--card); padding: .6rem .9rem; margin: .5rem 0; break-inside: avoid; }
article[data-severity="critical"] { border-left-color: var(--critical); }
article[data-severity="warning"] { border-left-color: var(--warning); }
article[data-severity="info"] { border-left-color: var(--info); }
article .path { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; word-break: break-all; }
.meta { font-size: .85rem; color: var(--muted); }
.values { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; margin: .5rem 0; }
.values div { min-width: 0; }
.values .label { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
pre { margin: .15rem 0 0; padding: .4rem .6rem; background: var(--code); border-radius: 4px; white-space: pre-wrap;
  word-break: break-word; font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.absent { font-style: italic; color: var(--muted); }
.remediation { margin: .25rem 0 0; }
.remediation::before { content: "Fix: "; font-weight: 600; }
.empty { padding: 1rem; border: 1px dashed var(--border); border-radius: 6px; }
[hidden] { display: none !important; }
@media print {
  :root { --bg: #fff; --fg: #000; --card: #fff; --code: #f3f3f3; --border: #999; }
  body { padding: 0; font-size: 11pt; }
  .filter { display: none; }
  article, section.severity { break-inside: avoid; }
  article[hidden], section[hidden] { display: block !important; }
}
"""

# Hides findings whose text does not contain every word typed, and sections left empty; a link to
# report.html#filter=WORDS opens the page filtered.
_SCRIPT = """
(function () {
  var box = document.getElementById("filter");
  var shown = document.getElementById("shown");
  function apply() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var visible = 0;
    document.querySelectorAll("article.finding").forEach(function (a) {
      var text = a.textContent.toLowerCase();
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      a.hidden = !hit;
      if (hit) { visible += 1; }
    });
    document.querySelectorAll("section.severity, section.component").forEach(function (s) {
      s.hidden = !s.querySelector("article.finding:not([hidden])");
    });
    shown.textContent = String(visible);
  }
  box.addEventListener("input", apply);
  var initial = /^#filter=(.*)$/.exec(location.hash);
  if (initial) { box.value = decodeURIComponent(initial[1]); }
  apply();
  document.documentElement.setAttribute("data-filter", "ready");
})();
"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
# Nothing may be loaded: no image, font, style sheet or script from anywhere, not even this file's
# directory; only the inline style and the one inline script above.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; "
    "img-src 'none'; font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def _value(value: Any) -> str:
    if value is None:
        return '<span class="absent">absent</span>'
    return f"<pre>{escape(render_value(value, _VALUE_LIMIT))}</pre>"


def _component_key(component: str) -> tuple[int, str]:
    return (_COMPONENT_ORDER.index(component) if component in _COMPONENT_ORDER else len(_COMPONENT_ORDER), component)


def _finding(f: Finding) -> str:
    meta = [f"level {f.level}", f"change {f.change}"]
    if f.kind and f.name:
        meta.append(f"object {f.kind}/{f.name}")
    if f.manager:
        meta.append(f"changed by {f.manager}")
    remediation = f'<p class="remediation">{escape(f.remediation)}</p>' if f.remediation else ""
    return (
        f'<article class="finding" data-severity="{escape(f.severity)}" data-component="{escape(f.component)}">\n'
        f'<div class="path">{escape(where(f))}</div>\n'
        f'<div class="meta"><span class="sev-{escape(f.severity)}">{escape(f.severity)}</span> · '
        f'{escape(" · ".join(meta))}</div>\n'
        f'<div class="values"><div><div class="label">local</div>{_value(f.local)}</div>'
        f'<div><div class="label">baseline</div>{_value(f.baseline)}</div></div>\n'
        f"{remediation}\n</article>"
    )


def _groups(report: DriftReport) -> list[str]:
    parts = []
    by_component = sorted(report.findings, key=lambda f: (_component_key(f.component), f.sort_key))
    for component, in_component in groupby(by_component, key=lambda f: f.component):
        findings = list(in_component)
        parts.append(f'<section class="component" data-component="{escape(component)}">')
        parts.append(f"<h2>{escape(component)} <span class=\"muted\">({len(findings)})</span></h2>")
        for severity in reversed(constants.SEVERITIES):
            group = [f for f in findings if f.severity == severity]
            if not group:
                continue
            parts.append(f'<section class="severity" data-severity="{severity}">')
            parts.append(f'<h3 class="sev-{severity}">{severity} <span class="muted">({len(group)})</span></h3>')
            parts.extend(_finding(f) for f in group)
            parts.append("</section>")
        other = [f for f in findings if f.severity not in constants.SEVERITIES]
        parts.extend(_finding(f) for f in other)
        parts.append("</section>")
    return parts


def render_html(report: DriftReport, *, source: str | None = None, fail_on: str = "critical") -> str:
    """The page as one string. `source`: what was compared (file or namespace/name), for the title."""
    target = f"baseline {report.baseline}" if report.baseline else "the desired state"
    title = f"Parity drift: {source} against {target}" if source else f"Parity drift against {target}"
    verdict = report.verdict if report.levels else report.highest
    verdict_class = ' class="verdict-unknown"' if verdict == "unknown" else ""
    counts = "".join(
        f'<span class="count sev-{name}" data-severity="{name}"><b class="n">{report.summary.get(name, 0)}</b>'
        f"{name}</span>"
        for name in reversed(constants.SEVERITIES)
    )
    body = _groups(report) if report.findings else [f'<p class="empty">{escape(summary_line(report))}</p>']
    truncated = (
        f'<p class="muted" id="truncated">{report.truncated} more findings are counted above but not listed: '
        f"status keeps the first {len(report.findings)}.</p>"
        if report.truncated else ""
    )
    failing = " (fails the check)" if report.exceeds(fail_on) else ""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f'<p id="summary">{escape(summary_line(report))}</p>',
        f'<p>Verdict: <b id="verdict"{verdict_class}>{escape(verdict)}</b>{escape(failing)} · '
        f'<span id="total">{report.total}</span> findings · fail-on {escape(fail_on)}</p>',
        f'<div class="counts">{counts}</div>',
        '<div class="filter"><label for="filter">Filter</label>'
        '<input id="filter" type="search" placeholder="path, component, value, severity…" autocomplete="off">'
        f'<span class="muted"><span id="shown">all</span> of {len(report.findings)} shown</span>'
        "</div>",
        "</header>",
        "<main>",
        *body,
        truncated,
        "</main>",
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])
