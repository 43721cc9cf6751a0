"""Publishing each environment's drift as a wgpolicyk8s.io/v1alpha2 PolicyReport, so that Policy
Reporter and similar UIs show it beside the findings of other tools.

Off, without an error, while the cluster does not serve that CRD: discovery is asked again every
few minutes, so installing the CRD later turns publishing on without a restart. The report is
built from the status.drift the sync just wrote (its summary matches status.drift by
construction) and applied through the one write path only when its content changed: a resync
with the same findings writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timezone
from typing import Callable

from parity.drift.engine import DriftReport
from parity.drift.report.policyreport import API_VERSION, build_policy_report, policy_reports_served
from parity.kube.apply import apply_object
from parity.kube.client import Kube, KubeError

log = logging.getLogger(__name__)

MODES = ("auto", "off")
# How long a discovery answer is trusted: installing or removing the CRD is noticed this late.
DISCOVERY_TTL_SECONDS = 300.0


def report_fingerprint(report: dict) -> str:
    """A digest of what the report says, without its timestamps (they change every build)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "timestamp"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    body = json.dumps(strip(report), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class PolicyReportPublisher:
    """One per operator process (in kopf's memo). State: the fingerprint last published per
    environment, dropped when the environment is deleted (`forget`)."""

    def __init__(self, mode: str = "auto", *, ttl: float = DISCOVERY_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if mode not in MODES:
            raise ValueError(f"PARITY_POLICY_REPORTS must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self._ttl = ttl
        self._clock = clock
        self._served: tuple[bool, float] | None = None  # (answer, when asked)
        self._published: dict[tuple[str, str], str] = {}
        self._failing: dict[tuple[str, str], str] = {}

    def served(self, kube: Kube) -> bool:
        if self.mode == "off":
            return False
        now = self._clock()
        if self._served is None or now - self._served[1] >= self._ttl:
            try:
                answer = policy_reports_served(kube.get(f"/apis/{API_VERSION}"))
            except KubeError as err:
                log.debug("PolicyReport discovery failed, publishing stays off: %s", err)
                answer = False
            if self._served is not None and self._served[0] != answer:
                log.info("PolicyReports %s", "served: publishing" if answer else "no longer served: not publishing")
                self._published.clear()
            self._served = (answer, now)
        return self._served[0]

    def publish(self, kube: Kube, body: dict, drift_status: dict, *, now: datetime | None = None) -> bool:
        """Apply the environment's report when its content changed; True when written. A write the
        API server refuses is logged once per environment and reason, never raised: the report is
        a view of status, and the sync that wrote status has succeeded."""
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if not drift_status or not self.served(kube):
            return False
        report = build_policy_report(DriftReport.from_status(drift_status), env_name=meta["name"],
                                     namespace=meta["namespace"], env_uid=meta["uid"],
                                     now=now or datetime.now(timezone.utc))
        fingerprint = report_fingerprint(report)
        if self._published.get(key) == fingerprint:
            return False
        try:
            apply_object(kube, report)
        except KubeError as err:
            reason = f"{err.status}"
            if self._failing.get(key) != reason:
                log.warning("PolicyReport for %s/%s not written: %s", *key, err)
                self._failing[key] = reason
            return False
        self._failing.pop(key, None)
        self._published[key] = fingerprint
        return True

    def forget(self, namespace: str, name: str) -> None:
        self._published.pop((namespace, name), None)
        self._failing.pop((namespace, name), None)
