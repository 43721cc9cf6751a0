"""The PolicyReport of an environment's drift (pure): mapping, summary equal to status.drift's,
escaping-free strings, and its shape against the v1alpha2 schema of the Policy WG's CRD (vendored
in tests/data/wgpolicyk8s.io_policyreports.yaml from github.com/kubernetes-sigs/wg-policy-prototypes,
policy-report/crd/v1alpha2/, commit 25056e1f3eb5cab1e693b8c880eb693a84e099af)."""

from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import yaml

from parity.drift.engine import DriftReport, Finding
from parity.drift.levels import LevelOutcome
from parity.drift.report.policyreport import build_policy_report, policy_reports_served

CRD = yaml.safe_load((Path(__file__).parent.parent / "data" / "wgpolicyk8s.io_policyreports.yaml").read_text())
SCHEMA = next(v for v in CRD["spec"]["versions"] if v["name"] == "v1alpha2")["schema"]["openAPIV3Schema"]
NOW = datetime(2026, 12, 3, 1, 2, 3, 456000, tzinfo=timezone.utc)
FINDINGS = [
    Finding(path="postgres.version", component="postgres", level="declared", change="modified", local="15",
            baseline="16", severity="critical", remediation='set spec.postgres.version to "16"'),
    Finding(path="live.StatefulSet.spec.replicas", component="etcd", level="live", change="modified", local=5,
            baseline=3, severity="warning", remediation="scale back", kind="StatefulSet", name="dev-etcd",
            manager="kubectl"),
    Finding(path="observability.enabled", component="observability", level="declared", change="modified",
            local=False, baseline=True, severity="info", remediation="turn it on"),
]


def build(report):
    return build_policy_report(report, env_name="dev", namespace="team", env_uid="uid-1", now=NOW)


def check_schema(obj):
    jsonschema.Draft7Validator(SCHEMA).validate(obj)


def test_findings_map_to_results_and_the_summary_matches_status():
    report = DriftReport.from_findings("production", FINDINGS)
    obj = build(report)
    check_schema(obj)
    assert obj["apiVersion"] == "wgpolicyk8s.io/v1alpha2" and obj["kind"] == "PolicyReport"
    assert obj["metadata"]["name"] == "parity-dev" and obj["metadata"]["namespace"] == "team"
    assert obj["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert obj["scope"] == {"apiVersion": "parity.dev/v1alpha1", "kind": "ParityEnvironment", "name": "dev",
                            "namespace": "team", "uid": "uid-1"}
    status = report.to_status()["summary"]
    assert obj["summary"] == {"pass": 0, "fail": status["critical"], "warn": status["warning"] + status["info"],
                              "error": 0, "skip": 0}
    results = {r["rule"]: r for r in obj["results"]}
    assert [(r["result"], r["severity"]) for r in obj["results"]] == [("fail", "critical"), ("warn", "medium"),
                                                                      ("warn", "info")]
    live = results["live.StatefulSet.spec.replicas"]
    assert live["resources"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "dev-etcd",
                                  "namespace": "team"}]
    assert live["properties"] == {"level": "live", "change": "modified", "component": "etcd", "local": "5",
                                  "baseline": "3", "manager": "kubectl"}
    assert results["postgres.version"]["message"] == \
        'postgres.version: 15 here, 16 in the baseline. set spec.postgres.version to "16"'
    assert results["postgres.version"]["timestamp"] == {"seconds": int(NOW.timestamp()), "nanos": 456000000}
    assert {r["policy"] for r in obj["results"]} == {"parity-drift/production"}


def test_summary_counts_findings_status_did_not_keep():
    report = DriftReport(baseline="production", findings=tuple(FINDINGS[:1]),
                         summary={"critical": 4, "warning": 7, "info": 9}, truncated=19)
    obj = build(report)
    assert obj["summary"]["fail"] == 4 and obj["summary"]["warn"] == 16
    assert len(obj["results"]) == 1


def test_no_drift_is_one_pass_and_unknown_is_one_error():
    ok = build(DriftReport.from_findings("production", [], levels=(LevelOutcome(level="declared", state="ran"),)))
    check_schema(ok)
    assert ok["summary"]["pass"] == 1 and [r["result"] for r in ok["results"]] == ["pass"]
    unknown = build(DriftReport.from_findings("production", FINDINGS[:1], levels=(
        LevelOutcome(level="declared", state="failed", reason="Error", message="boom"),)))
    check_schema(unknown)
    assert unknown["summary"]["error"] == 1 and unknown["summary"]["fail"] == 1
    assert unknown["results"][-1]["result"] == "error" and "boom" in unknown["results"][-1]["message"]


def test_the_schema_check_can_fail():
    obj = build(DriftReport.from_findings("production", FINDINGS))
    obj["results"][0]["result"] = "critical"
    try:
        check_schema(obj)
    except jsonschema.ValidationError:
        return
    raise AssertionError("an invalid result passed the schema")


def test_served_only_when_discovery_lists_policyreports():
    assert policy_reports_served(None) is False
    assert policy_reports_served({"resources": [{"name": "clusterpolicyreports"}]}) is False
    assert policy_reports_served({"resources": [{"name": "policyreports", "namespaced": True}]}) is True
