"""The operator's PolicyReport against the real API server: off (not served) without the Policy
WG's CRD, published by the operator once the CRD is installed (no restart), accepted by the CRD's
schema (the builder's object also under strict field validation), its summary equal to
status.drift and following it when the drift changes, and deleted with its environment.
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


def env_status(plane, namespace):
    return kget(plane, "penv", "dev", "-n", namespace).get("status") or {}

CRD_FILE = REPO_ROOT / "tests/data/wgpolicyk8s.io_policyreports.yaml"


def test_policy_report_is_accepted_and_matches_status(operator, namespace):
    plane = operator.plane
    kube = Kube.connect(kubeconfig=str(plane.kubeconfig))
    try:
        assert policy_reports_served(kube.get(f"/apis/{API_VERSION}")) is False  # CRD not installed: off
        plane.kubectl("apply", "--server-side", "-f", str(CRD_FILE))
        try:
            plane.wait_established("policyreports.wgpolicyk8s.io")
            wait_until(lambda: policy_reports_served(kube.get(f"/apis/{API_VERSION}")), timeout=30,
                       what="policyreports served")

            env = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
            env["spec"]["redis"]["config"]["maxmemory-policy"] = "noeviction"  # production: allkeys-lru, critical
            plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(env))
            drift = wait_until(
                lambda: (d := env_status(plane, namespace).get("drift") or {})
                and d.get("highestSeverity") == "critical" and d, timeout=90, what="critical drift")
            live = kget(plane, "penv", "dev", "-n", namespace)
            # What the operator writes passes the CRD's schema under strict field validation.
            report = DriftReport.from_status(drift)
            obj = build_policy_report(report, env_name="dev", namespace=namespace, env_uid=live["metadata"]["uid"],
                                      now=datetime.now(timezone.utc))
            plane.kubectl("apply", "--server-side", "--dry-run=server", "--field-manager=parity-operator",
                          "--validate=strict", "-f", "-", input=json.dumps(obj))

            def published(fail_count):
                proc = plane.kubectl("get", f"{PLURAL}.v1alpha2.wgpolicyk8s.io", policy_report_name("dev"),
                                     "-n", namespace, "-o", "json", "--show-managed-fields", check=False)
                if proc.returncode != 0:
                    return None
                got = json.loads(proc.stdout)
                return got if got["summary"]["fail"] == fail_count else None

            # Published by the operator itself, under its field manager.
            stored = wait_until(lambda: published(drift["summary"]["critical"]), timeout=60,
                                what="the operator's PolicyReport")
            assert any(m["manager"] == "parity-operator" for m in stored["metadata"]["managedFields"])
            drift = env_status(plane, namespace)["drift"]
            summary = drift["summary"]
            assert stored["summary"]["fail"] == summary["critical"] >= 1
            assert stored["summary"]["warn"] == summary["warning"] + summary["info"]
            assert len(stored["results"]) == len(drift["findings"])
            assert any(r["rule"] == "redis.config.maxmemory-policy" and r["result"] == "fail" for r in stored["results"])
            columns = plane.kubectl("get", "polr", "-n", namespace).stdout
            assert policy_report_name("dev") in columns

            # The report follows the drift: back to production's policy, the failure is gone.
            env["spec"]["redis"]["config"]["maxmemory-policy"] = "allkeys-lru"
            plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(env))
            wait_until(lambda: (env_status(plane, namespace)["drift"]["summary"]["critical"] == 0), timeout=90,
                       what="critical drift resolved")
            stored = wait_until(lambda: published(0), timeout=60, what="the PolicyReport without the failure")
            assert not any(r["rule"] == "redis.config.maxmemory-policy" for r in stored["results"])

            # Deleted with its environment (owner reference, garbage collector).
            plane.kubectl("delete", "penv", "dev", "-n", namespace, "--wait=false")
            wait_until(lambda: plane.kubectl("get", "polr", policy_report_name("dev"), "-n", namespace,
                                             check=False).returncode != 0,
                       timeout=120, what="the PolicyReport collected with its environment")
        finally:
            plane.kubectl("delete", "-f", str(CRD_FILE), "--wait=true", check=False, timeout=120)
    finally:
        kube.close()
