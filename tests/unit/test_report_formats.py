"""The html, sarif and markdown reports of `parity diff` / `parity validate` (pure rendering and CLI).

The SARIF schema in tests/data/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 (errata01) schema,
copied unchanged from the standard's repository (github.com/oasis-tcs/sarif-spec,
sarif-2.1/schema/sarif-schema-2.1.0.json at commit e0583813964ec43cea53b6b531b402866095ed1f).
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from parity.cli.main import main
from parity.drift.engine import DriftReport, Finding
from parity.drift.levels import LevelOutcome
from parity.drift.report import FORMATS, render, render_html, render_markdown, render_sarif
from parity.drift.report.markdown import escape_cell
from parity.drift.report.sarif import build_sarif
from parity.drift.rules import BUILTIN_RULES, Rule

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text())
EVIL = '<script>alert("x")</script> | & `code` **bold**'

FINDINGS = [
    Finding(path="postgres.version", component="postgres", level="declared", change="modified", local="15",
            baseline="16", severity="critical", remediation='set spec.postgres.version to "16"'),
    Finding(path="postgres.parameters.work_mem", component="postgres", level="runtime", change="modified",
            local=EVIL, baseline="4MB", severity="warning", remediation=f"reset it {EVIL}"),
    Finding(path="live.StatefulSet.spec.replicas", component="etcd", level="live", change="modified", local=5,
            baseline=3, severity="warning", remediation="scale back", kind="StatefulSet", name="dev-etcd",
            manager="kubectl"),
    Finding(path="observability.enabled", component="observability", level="declared", change="modified",
            local=False, baseline=True, severity="info", remediation="turn it on <&>"),
    Finding(path="redis.config.maxmemory", component="redis", level="declared", change="added", local="1gb",
            baseline=None, severity="info", remediation=""),
]
REPORT = DriftReport.from_findings("production", FINDINGS)
EMPTY = DriftReport.from_findings("production", [])


def validate_sarif(document):
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    jsonschema.Draft4Validator(SCHEMA).validate(document)


# ---- SARIF -----------------------------------------------------------------------------------


def test_sarif_is_valid_against_the_official_schema():
    document = json.loads(render_sarif(REPORT, rules=BUILTIN_RULES, source="dev.yaml"))
    validate_sarif(document)
    validate_sarif(json.loads(render_sarif(EMPTY)))


def test_the_schema_check_can_fail():
    document = build_sarif(REPORT, rules=BUILTIN_RULES)
    document["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(document)


def test_sarif_one_result_per_finding_with_levels_from_severity():
    run = build_sarif(REPORT, rules=BUILTIN_RULES)["runs"][0]
    results = run["results"]
    assert len(results) == len(FINDINGS)
    by_path = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r for r in results}
    assert by_path["postgres.version"]["level"] == "error"
    assert by_path["postgres.parameters.work_mem"]["level"] == "warning"
    assert by_path["observability.enabled"]["level"] == "note"
    assert by_path["live.StatefulSet.spec.replicas"]["properties"]["kind"] == "StatefulSet"
    assert run["properties"]["summary"] == {"critical": 1, "warning": 2, "info": 2}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_one_rule_per_baseline_rule_with_its_remediation_as_help():
    rules = (
        Rule("postgres.version", "critical", "Use PostgreSQL {baseline} like production."),
        Rule("postgres.parameters.*", "warning"),
        Rule("**", "info"),
    )
    run = build_sarif(REPORT, rules=rules)["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    assert [d["id"] for d in descriptors] == ["postgres.version", "**", "postgres.parameters.*"]
    assert descriptors[0]["help"]["text"] == "Use PostgreSQL {baseline} like production."
    # A rule without a remediation of its own: the (rendered) remediation of its first finding.
    assert descriptors[2]["help"]["text"] == f"reset it {EVIL}"
    assert descriptors[0]["defaultConfiguration"]["level"] == "error"
    for result in run["results"]:
        assert descriptors[result["ruleIndex"]]["id"] == result["ruleId"]
    assert sorted(r["ruleId"] for r in run["results"]).count("**") == 3


def test_sarif_without_known_rules_uses_each_finding_path():
    run = build_sarif(REPORT, rules=None)["runs"][0]
    assert [d["id"] for d in run["tool"]["driver"]["rules"]] == [f.path for f in REPORT.findings]


def test_sarif_unknown_verdict_is_an_unsuccessful_run():
    report = DriftReport.from_findings("production", FINDINGS[:1], levels=(
        LevelOutcome(level="declared", state="failed", reason="Error", message="boom"),))
    document = build_sarif(report)
    validate_sarif(document)
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["level"] == "error"
    assert document["runs"][0]["properties"]["verdict"] == "unknown"


# ---- HTML ------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Collects the tags, attributes and text of a page."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.scripts += tag == "script"

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    page = Page()
    page.feed(html)
    return page


def test_html_escapes_every_value():
    html = render_html(REPORT, source="<b>dev</b>.yaml")
    page = parse(html)
    assert page.scripts == 1  # only the page's own filter script
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<b>dev</b>" not in html and "&lt;b&gt;dev&lt;/b&gt;.yaml" in html
    assert "turn it on &lt;&amp;&gt;" in html
    assert EVIL in "".join(page.text)  # the text a reader sees is the value itself


def test_html_is_self_contained():
    html = render_html(REPORT)
    page = parse(html)
    for tag, attrs in page.tags:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
    assert not re.search(r"url\(|@import|https?://", html.split("<body>")[0].split("Content-Security-Policy")[0])
    assert "default-src 'none'" in html
    assert "prefers-color-scheme: dark" in html and "@media print" in html


def test_html_groups_by_component_then_severity_with_both_values_and_remediation():
    page = parse(render_html(REPORT))
    sections = [(attrs.get("class"), attrs.get("data-component") or attrs.get("data-severity"))
                for tag, attrs in page.tags if tag == "section"]
    assert sections == [
        ("component", "etcd"), ("severity", "warning"),
        ("component", "postgres"), ("severity", "critical"), ("severity", "warning"),
        ("component", "redis"), ("severity", "info"),
        ("component", "observability"), ("severity", "info"),
    ]
    articles = [attrs for tag, attrs in page.tags if tag == "article"]
    assert len(articles) == len(FINDINGS)
    text = "".join(page.text)
    assert "set spec.postgres.version to \"16\"" in text and "scale back" in text
    assert "absent" in text  # the baseline side of an added key


def test_html_summary_counts_equal_the_findings():
    html = render_html(REPORT)
    counts = dict(re.findall(r'data-severity="(\w+)"><b class="n">(\d+)</b>', html))
    assert counts == {"critical": "1", "warning": "2", "info": "2"}
    assert '<span id="total">5</span>' in html


def test_html_without_findings_and_truncated():
    html = render_html(EMPTY)
    assert "No drift against baseline" in html and "<article" not in html
    truncated = DriftReport(baseline="production", findings=REPORT.findings[:1], summary=REPORT.summary, truncated=4)
    assert "4 more findings are counted above but not listed" in render_html(truncated)


# ---- Markdown --------------------------------------------------------------------------------


def test_markdown_table_escapes_pipes_and_markup():
    text = render_markdown(REPORT)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Severity | Component |")
    assert len(rows) == 1 + len(FINDINGS)
    for row in rows:
        # An unescaped | would add a cell: every row has the header's 7 cells.
        assert len(re.split(r"(?<!\\)\|", row)) - 2 == 7, row
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "\\`code\\`" in text and "\\*\\*bold\\*\\*" in text
    assert "1 critical, 2 warning, 2 info" in text


def test_markdown_cell_escaping():
    assert escape_cell("a|b\nc") == "a\\|b c"
    assert escape_cell("x_y") == "x\\_y"


def test_markdown_without_findings():
    text = render_markdown(EMPTY)
    assert "No drift against baseline" in text and "| Severity" not in text


def test_unknown_format_is_refused():
    assert {"html", "sarif", "markdown"} <= set(FORMATS)
    with pytest.raises(ValueError):
        render(REPORT, "pdf")


# ---- CLI -------------------------------------------------------------------------------------

ENV = """\
apiVersion: parity.dev/v1alpha1
kind: ParityEnvironment
metadata:
  name: dev
spec:
  baselineRef:
    name: production
  postgres:
    version: "15"
    parameters:
      max_connections: "200"
      work_mem: "<script>alert(1)</script>"
"""

BASELINE = """\
apiVersion: parity.dev/v1alpha1
kind: ParityBaseline
metadata:
  name: production
spec:
  environment:
    postgres:
      version: "16"
      parameters:
        max_connections: "200"
        work_mem: "4MB"
  rules:
    - path: postgres.version
      severity: critical
      remediation: "Production runs PostgreSQL {baseline}: set spec.postgres.version."
    - path: postgres.parameters.*
      severity: warning
"""


@pytest.fixture
def files(tmp_path):
    env = tmp_path / "dev.yaml"
    base = tmp_path / "production.yaml"
    env.write_text(ENV)
    base.write_text(BASELINE)
    return str(env), str(base)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["diff", "validate"])
def test_cli_sarif(files, capsys, command):
    env, base = files
    code, out, err = run(capsys, command, env, "--baseline", base, "-o", "sarif")
    assert code == 2, err
    document = json.loads(out)
    validate_sarif(document)
    run_ = document["runs"][0]
    assert [d["id"] for d in run_["tool"]["driver"]["rules"]] == ["postgres.version", "postgres.parameters.*"]
    assert run_["tool"]["driver"]["rules"][0]["help"]["text"].startswith("Production runs PostgreSQL {baseline}")
    assert {r["level"] for r in run_["results"]} == {"error", "warning"}
    assert run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == env


@pytest.mark.parametrize("command", ["diff", "validate"])
def test_cli_html_and_markdown(files, capsys, command):
    env, base = files
    code, out, err = run(capsys, command, env, "--baseline", base, "-o", "html")
    assert code == 2, err
    assert out.startswith("<!DOCTYPE html>") and parse(out).scripts == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    code, out, err = run(capsys, command, env, "--baseline", base, "-o", "markdown", "--fail-on", "info")
    assert code == 2, err
    assert "| 🔴 critical | postgres | declared | postgres.version | 15 | 16 |" in out


def test_cli_validate_without_baseline_still_writes_a_document(files, capsys):
    env, _ = files
    code, out, err = run(capsys, "validate", env, "-o", "sarif")
    assert code == 0 and "valid ParityEnvironment" in err
    validate_sarif(json.loads(out))
    assert json.loads(out)["runs"][0]["results"] == []


def test_cli_bad_format_is_one_line_exit_one(files, capsys):
    env, base = files
    code, out, err = run(capsys, "diff", env, "--baseline", base, "-o", "pdf")
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith("parity: --output: 'pdf' is not one of")
    assert "html" in err and "sarif" in err and "markdown" in err


def test_cli_cluster_mode_sarif_reads_rules_only_when_reachable(monkeypatch, capsys):
    """Cluster mode: the report comes from status.drift; the baseline's rules from the cluster when
    it answers, else each finding path stands for its rule (no error: the report is still right)."""
    from parity.cli import diff as diff_cli

    status_drift = REPORT.to_status()
    status_drift["observedGeneration"] = 1
    obj = {"metadata": {"name": "dev", "generation": 1}, "spec": {},
           "status": {"observedGeneration": 1, "drift": status_drift}}
    monkeypatch.setattr(diff_cli, "read_live_environment", lambda namespace, name, context=None: obj)
    monkeypatch.setattr(diff_cli, "_live_baseline_rules", lambda name, context: (Rule("**", "warning", "fix it"),))
    code, out, err = run(capsys, "diff", "-n", "team-a", "dev", "-o", "sarif")
    assert code == 2, err
    document = json.loads(out)
    validate_sarif(document)
    assert [d["id"] for d in document["runs"][0]["tool"]["driver"]["rules"]] == ["**"]
    assert document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] \
        == "team-a/dev"
    monkeypatch.setattr(diff_cli, "_live_baseline_rules", lambda name, context: None)
    code, out, err = run(capsys, "diff", "-n", "team-a", "dev", "-o", "sarif")
    assert len(json.loads(out)["runs"][0]["tool"]["driver"]["rules"]) == len(FINDINGS)
    code, out, err = run(capsys, "diff", "-n", "team-a", "dev", "-o", "html")
    assert code == 2 and "team-a/dev" in out and out.count("<article") == len(FINDINGS)
