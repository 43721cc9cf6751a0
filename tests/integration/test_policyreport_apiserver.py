"""The PolicyReport builder against the real API server: off (not served) without the Policy WG's
CRD, accepted by the CRD's schema once installed (server-side apply, strict field validation),
its summary equal to the operator's status.drift, and deleted with its environment.

Publishing from the operator's reconcile is not wired yet; this checks the object it would write.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import yaml
from support import REPO_ROOT, kget, wait_until

from parity.drift.engine import DriftReport
from parity.drift.report.policyreport import (
    API_VERSION,
    PLURAL,
    build_policy_report,
    policy_report_name,
    policy_reports_served,
)
from parity.kube.client import Kube

pytestmark = pytest.mark.integration

CRD_FILE = REPO_ROOT / "tests/data/wgpolicyk8s.io_policyreports.yaml"


def test_policy_report_is_accepted_and_matches_status(operator, namespace):
    plane = operator.plane
    kube = Kube.connect(kubeconfig=str(plane.kubeconfig))
    try:
        assert policy_reports_served(kube.get(f"/apis/{API_VERSION}")) is False  # CRD not installed: off
        plane.kubectl("apply", "--server-side", "-f", str(CRD_FILE))
        try:
            plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/policyreports.wgpolicyk8s.io")
            wait_until(lambda: policy_reports_served(kube.get(f"/apis/{API_VERSION}")), timeout=30,
                       what="policyreports served")

            env = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
            env["spec"]["postgres"]["version"] = "15"  # production runs 16: critical
            plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(env))
            drift = wait_until(
                lambda: (d := (kget(plane, "penv", "dev", "-n", namespace).get("status") or {}).get("drift") or {})
                and d.get("highestSeverity") == "critical" and d, timeout=90, what="critical drift")
            live = kget(plane, "penv", "dev", "-n", namespace)
            report = DriftReport.from_status(drift)
            obj = build_policy_report(report, env_name="dev", namespace=namespace, env_uid=live["metadata"]["uid"],
                                      now=datetime.now(timezone.utc))
            plane.kubectl("apply", "--server-side", "--field-manager=parity-operator", "--validate=strict",
                          "-f", "-", input=json.dumps(obj))

            stored = kget(plane, f"{PLURAL}.v1alpha2.wgpolicyk8s.io", policy_report_name("dev"), "-n", namespace)
            summary = drift["summary"]
            assert stored["summary"]["fail"] == summary["critical"] >= 1
            assert stored["summary"]["warn"] == summary["warning"] + summary["info"]
            assert len(stored["results"]) == len(drift["findings"])
            assert any(r["rule"] == "postgres.version" and r["result"] == "fail" for r in stored["results"])
            columns = plane.kubectl("get", "polr", "-n", namespace).stdout
            assert policy_report_name("dev") in columns

            # Deleted with its environment (owner reference, garbage collector).
            plane.kubectl("delete", "penv", "dev", "-n", namespace, "--wait=false")
            wait_until(lambda: plane.kubectl("get", "polr", policy_report_name("dev"), "-n", namespace,
                                             check=False).returncode != 0,
                       timeout=120, what="the PolicyReport collected with its environment")
        finally:
            plane.kubectl("delete", "-f", str(CRD_FILE), "--wait=true", check=False, timeout=120)
    finally:
        kube.close()
