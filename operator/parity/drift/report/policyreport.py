"""A Kubernetes PolicyReport (wgpolicyk8s.io/v1alpha2, the Policy WG's format that Policy Reporter
and similar UIs read) of one environment's drift. Pure: the report and the environment's identity
in, the object out; publishing it (when the CRD is installed) is the caller's job.

Mapping, so that the report's summary matches status.drift:
    critical finding -> result `fail`, severity `critical`   (summary.fail  = summary.critical)
    warning finding  -> result `warn`, severity `medium`     (summary.warn  = warning + info)
    info finding     -> result `warn`, severity `info`
    no finding, verdict known   -> one `pass` result          (summary.pass  = 1)
    verdict unknown             -> one `error` result naming the cause (summary.error = 1)
The summary counts every finding (status keeps the first 50; the results list those).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from parity import constants
from parity.drift.engine import DriftReport
from parity.drift.finding import Finding, render_value
from parity.drift.report.text import summary_line

API_GROUP = "wgpolicyk8s.io"
API_VERSION = f"{API_GROUP}/v1alpha2"
KIND = "PolicyReport"
PLURAL = "policyreports"
SOURCE = "parity"
RESULTS = {"critical": "fail", "warning": "warn", "info": "warn"}
SEVERITIES = {"critical": "critical", "warning": "medium", "info": "info"}
_VALUE_LIMIT = 256
_APPS = {"StatefulSet": "apps/v1", "Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
         "ServiceAccount": "v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
         "PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1"}


def policy_report_name(env_name: str) -> str:
    return f"parity-{env_name}"


def _timestamp(now: datetime) -> dict[str, int]:
    now = now.astimezone(timezone.utc)
    return {"seconds": int(now.timestamp()), "nanos": now.microsecond * 1000}


def _policy(report: DriftReport) -> str:
    return f"parity-drift/{report.baseline}" if report.baseline else "parity-drift"


def _result(f: Finding, report: DriftReport, scope: dict[str, Any], stamp: dict[str, int]) -> dict[str, Any]:
    local = "absent" if f.local is None else render_value(f.local, _VALUE_LIMIT)
    baseline = "absent" if f.baseline is None else render_value(f.baseline, _VALUE_LIMIT)
    message = f"{f.path}: {local} here, {baseline} in the baseline."
    if f.remediation:
        message += f" {f.remediation}"
    properties = {"level": f.level, "change": f.change, "component": f.component, "local": local,
                  "baseline": baseline}
    if f.manager:
        properties["manager"] = f.manager
    if f.level == "live" and f.kind and f.name:
        resource = {"apiVersion": _APPS.get(f.kind, "v1"), "kind": f.kind, "name": f.name,
                    "namespace": scope["namespace"]}
    else:
        resource = dict(scope)
    return {
        "policy": _policy(report),
        "rule": f.path,
        "result": RESULTS.get(f.severity, "warn"),
        "severity": SEVERITIES.get(f.severity, "info"),
        "category": f.component,
        "source": SOURCE,
        "message": message,
        "properties": properties,
        "resources": [resource],
        "scored": True,
        "timestamp": stamp,
    }


def build_policy_report(report: DriftReport, *, env_name: str, namespace: str, env_uid: str,
                        now: datetime) -> dict[str, Any]:
    scope = {"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND, "name": env_name,
             "namespace": namespace, "uid": env_uid}
    stamp = _timestamp(now)
    results = [_result(f, report, scope, stamp) for f in report.findings]
    summary = {"pass": 0, "fail": report.summary.get("critical", 0),
               "warn": report.summary.get("warning", 0) + report.summary.get("info", 0), "error": 0, "skip": 0}
    if report.unknown_cause is not None:
        summary["error"] = 1
        results.append({"policy": _policy(report), "rule": "verdict", "result": "error", "source": SOURCE,
                        "message": summary_line(report), "resources": [dict(scope)], "scored": True,
                        "timestamp": stamp})
    elif report.total == 0:
        summary["pass"] = 1
        results.append({"policy": _policy(report), "rule": "in-parity", "result": "pass", "source": SOURCE,
                        "message": summary_line(report), "resources": [dict(scope)], "scored": True,
                        "timestamp": stamp})
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": policy_report_name(env_name),
            "namespace": namespace,
            "labels": {
                constants.LABEL_MANAGED_BY: constants.MANAGED_BY,
                constants.LABEL_PART_OF: constants.PART_OF,
                constants.LABEL_INSTANCE: env_name,
            },
            # Deleted with its environment.
            "ownerReferences": [{"apiVersion": constants.API_VERSION, "kind": constants.ENVIRONMENT_KIND,
                                 "name": env_name, "uid": env_uid, "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "scope": scope,
        "summary": summary,
        "results": results,
    }


def policy_reports_served(discovery: dict[str, Any] | None) -> bool:
    """Whether the cluster serves PolicyReports in this version, from the discovery document of
    GET /apis/wgpolicyk8s.io/v1alpha2 (None: 404, the CRD is not installed). Publishing is off,
    without an error, when it is not."""
    if not isinstance(discovery, dict):
        return False
    return any(isinstance(r, dict) and r.get("name") == PLURAL for r in discovery.get("resources") or [])
