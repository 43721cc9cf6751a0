"""The engine: all levels, ignore, sorting, summary, fail-on, status."""

import pytest

from parity import constants
from parity.api import parse_baseline, parse_environment
from parity.drift.engine import DriftReport, Finding, evaluate_drift
from parity.probes.base import ProbeResult

BASELINE = parse_baseline({"environment": {
    "postgres": {"version": "16", "parameters": {"max_connections": "100"}},
    "etcd": {"replicas": 5},
    "observability": {"enabled": True},
}})


def env(**spec):
    return parse_environment({"postgres": {"version": "15", "parameters": {"max_connections": "200"}}, **spec})


def test_levels_sorted_by_severity_then_path():
    probes = [ProbeResult("postgres", "p:5432", values={"postgres.parameters.max_connections": "500"})]
    report = evaluate_drift(env(), BASELINE, "production", probe_results=probes)
    assert [(f.severity, f.path, f.level) for f in report.findings] == [
        ("critical", "postgres.version", "declared"),
        ("warning", "etcd.replicas", "declared"),
        ("warning", "postgres.parameters.max_connections", "declared"),
        ("warning", "postgres.parameters.max_connections", "runtime"),
        ("info", "observability.enabled", "declared"),
    ]
    assert report.summary == {"critical": 1, "warning": 3, "info": 1}
    assert report.highest == "critical"
    assert report.baseline == "production"


def test_live_level_runs_only_with_desired_and_live():
    desired = [{"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}}]
    live = [{"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n", "managedFields": [
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:a": {}}}}]}, "data": {"a": "2"}}]
    same = parse_environment({})
    plain = parse_baseline({})
    assert evaluate_drift(same, plain, "p", desired=desired).findings == ()
    [f] = evaluate_drift(same, plain, "p", desired=desired, live=live).findings
    assert (f.path, f.level, f.local, f.baseline) == ("live.ConfigMap.data.a", "live", "2", "1")
    assert evaluate_drift(same, plain, "p", desired=desired, live=live, field_manager="kubectl-edit").findings == ()


def test_no_baseline_runs_live_and_runtime_only():
    probes = [ProbeResult("etcd", "e:2379", error="refused")]
    report = evaluate_drift(env(), None, "", probe_results=probes)
    assert [f.path for f in report.findings] == ["runtime.etcd.probe"]


def test_ignore_removes_exactly_matching_findings():
    full = evaluate_drift(env(), BASELINE, "production")
    ignored = evaluate_drift(env(drift={"ignore": ["postgres.parameters.*", "observability.**"]}), BASELINE, "production")
    assert [f.path for f in ignored.findings] == ["postgres.version", "etcd.replicas"]
    assert len(full.findings) == 4


def test_no_drift_report():
    report = evaluate_drift(parse_environment({}), parse_baseline({}), "production")
    assert report.findings == ()
    assert report.highest == "none"
    assert report.summary == {"critical": 0, "warning": 0, "info": 0}
    assert not report.exceeds("info")


@pytest.mark.parametrize(
    "severities, fail_on, expected",
    [
        ([], "info", False),
        (["info"], "info", True),
        (["info"], "warning", False),
        (["warning"], "warning", True),
        (["warning"], "critical", False),
        (["critical"], "critical", True),
        (["info", "critical"], "warning", True),
    ],
)
def test_exceeds(severities, fail_on, expected):
    findings = [Finding(path=f"p{i}", component="etcd", level="declared", change="modified", severity=s)
                for i, s in enumerate(severities)]
    assert DriftReport.from_findings("b", findings).exceeds(fail_on) is expected


def test_exceeds_rejects_unknown_severity():
    with pytest.raises(ValueError):
        DriftReport.from_findings("b", []).exceeds("fatal")


def test_to_dict_shape():
    report = evaluate_drift(env(), BASELINE, "production")
    data = report.to_dict()
    assert list(data) == ["baseline", "summary", "items", "verdict", "levels"]
    assert list(data["levels"]) == ["declared", "live", "runtime"]
    assert list(data["summary"]) == ["critical", "warning", "info"]
    assert list(data["items"][0]) == ["path", "component", "level", "change", "local", "baseline", "severity", "remediation"]
    live = Finding(path="live.X.y", component="etcd", level="live", change="added", local=1, kind="X", name="n", manager="m")
    assert list(live.to_dict())[-3:] == ["kind", "name", "manager"]


def test_to_status_renders_strings_and_truncates():
    findings = [
        Finding(path="a", component="etcd", level="declared", change="modified", local=3, baseline=5, severity="warning"),
        Finding(path="b", component="etcd", level="declared", change="added", local={"x": [1, True]}, baseline=None, severity="critical"),
        Finding(path="c", component="etcd", level="live", change="removed", local=None, baseline="v", severity="info",
                kind="StatefulSet", name="dev-etcd"),
        Finding(path="d", component="etcd", level="declared", change="modified", local="x" * 2000, baseline=False, severity="info"),
    ]
    status = DriftReport.from_findings("production", findings).to_status(max_findings=10)
    assert status["baseline"] == "production"
    assert status["highestSeverity"] == "critical"
    assert status["summary"] == {"critical": 1, "warning": 1, "info": 2}
    assert status["truncated"] == 0
    first, second, third, fourth = status["findings"]
    assert (first["path"], first["local"]) == ("b", '{"x":[1,true]}') and "baseline" not in first
    assert (second["local"], second["baseline"]) == ("3", "5")
    assert "local" not in third and third["baseline"] == "v" and third["kind"] == "StatefulSet" and "manager" not in third
    assert len(fourth["local"]) <= 512 and fourth["baseline"] == "false"
    for item in status["findings"]:
        for key in ("local", "baseline"):
            assert key not in item or isinstance(item[key], str)

    short = DriftReport.from_findings("production", findings).to_status(max_findings=2)
    assert [f["path"] for f in short["findings"]] == ["b", "a"]
    assert short["truncated"] == 2
    assert short["summary"] == {"critical": 1, "warning": 1, "info": 2}


def test_default_status_limit_is_the_constant():
    findings = [Finding(path=f"p{i:03}", component="etcd", level="declared", change="modified") for i in range(120)]
    status = DriftReport.from_findings("b", findings).to_status()
    assert len(status["findings"]) == constants.MAX_STATUS_FINDINGS
    assert status["truncated"] == 120 - constants.MAX_STATUS_FINDINGS


def test_from_status_round_trip_keeps_counts():
    findings = [Finding(path=f"p{i}", component="etcd", level="declared", change="modified", local=i, severity="critical")
                for i in range(5)]
    status = DriftReport.from_findings("production", findings).to_status(max_findings=2)
    status["checkedAt"] = "2025-01-01T00:00:00Z"  # added by the operator
    back = DriftReport.from_status(status)
    assert back.baseline == "production"
    assert len(back.findings) == 2 and back.truncated == 3
    assert back.summary == {"critical": 5, "warning": 0, "info": 0}
    assert back.exceeds("critical")
    assert back.findings[0].local == "0"
    assert DriftReport.from_status({}).highest == "none"
    assert DriftReport.from_status({"findings": ["junk", {"path": "x", "severity": "warning"}], "summary": "bad", "truncated": "x"}).summary["warning"] == 1
