"""Rendering: table, json, yaml, junit."""

import io
import json
import xml.etree.ElementTree as ET

import yaml

from parity.drift.engine import DriftReport, Finding
from parity.drift.report import render, render_table, use_color

FINDINGS = [
    Finding(path="postgres.version", component="postgres", level="declared", change="modified", local="15", baseline="16",
            severity="critical", remediation='set spec.postgres.version to "16"'),
    Finding(path="live.StatefulSet.spec.replicas", component="etcd", level="live", change="modified", local=5, baseline=3,
            severity="warning", remediation="scale back", kind="StatefulSet", name="dev-etcd", manager="kubectl"),
    Finding(path="observability.enabled", component="observability", level="declared", change="modified", local=False,
            baseline=True, severity="info", remediation="turn it on <&>"),
]
REPORT = DriftReport.from_findings("production", FINDINGS)
EMPTY = DriftReport.from_findings("production", [])


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_use_color():
    assert use_color(Tty(), {}) is True
    assert use_color(Tty(), {"NO_COLOR": "1"}) is False
    assert use_color(Tty(), {"TERM": "dumb"}) is False
    assert use_color(io.StringIO(), {}) is False
    assert use_color(None, {}) is False


def test_table_plain_and_coloured():
    plain = render_table(REPORT)
    assert "\033[" not in plain
    lines = plain.splitlines()
    assert lines[0].split() == ["SEVERITY", "LEVEL", "CHANGE", "PATH", "LOCAL", "BASELINE"]
    assert lines[1].split()[:4] == ["critical", "declared", "modified", "postgres.version"]
    assert "live.StatefulSet.spec.replicas (StatefulSet/dev-etcd)" in plain
    assert "-> scale back" in plain
    assert lines[-1] == '3 findings against baseline "production": 1 critical, 1 warning, 1 info.'
    coloured = render_table(REPORT, color=True)
    assert "\033[31mcritical" in coloured and "\033[33mwarning" in coloured
    assert "\033[31minfo" not in coloured and "\033[33minfo" not in coloured


def test_table_without_drift():
    assert render_table(EMPTY) == 'No drift against baseline "production".\n'


def test_json_and_yaml_same_data():
    data = json.loads(render(REPORT, "json"))
    assert data == yaml.safe_load(render(REPORT, "yaml"))
    assert data["baseline"] == "production"
    assert data["summary"] == {"critical": 1, "warning": 1, "info": 1}
    assert [i["path"] for i in data["items"]] == ["postgres.version", "live.StatefulSet.spec.replicas", "observability.enabled"]
    assert set(data["items"][0]) == {"path", "component", "level", "change", "local", "baseline", "severity", "remediation"}
    assert data["items"][1]["manager"] == "kubectl" and data["items"][1]["kind"] == "StatefulSet"
    assert json.loads(render(EMPTY, "json")) == {"baseline": "production", "summary": {"critical": 0, "warning": 0, "info": 0}, "items": []}


def test_junit_failures_follow_fail_on():
    root = ET.fromstring(render(REPORT, "junit", fail_on="warning"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 and suite.get("tests") == "3" and suite.get("failures") == "2"
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["postgres.version", "live.StatefulSet.spec.replicas (StatefulSet/dev-etcd)"]
    assert cases[0].find("failure").get("type") == "critical"
    assert "turn it on <&>" in cases[2].find("system-out").text
    only_critical = ET.fromstring(render(REPORT, "junit", fail_on="critical")).find("testsuite")
    assert only_critical.get("failures") == "1"


def test_junit_never_empty():
    suite = ET.fromstring(render(EMPTY, "junit")).find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 1 and cases[0].find("failure") is None
    assert suite.get("tests") == "1" and suite.get("failures") == "0"
