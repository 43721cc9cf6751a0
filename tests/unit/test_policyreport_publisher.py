"""When the operator writes an environment's PolicyReport: only while the CRD is served (discovery
trusted for a while, asked again after), only when what the report says changed, and a refused
write is logged once, never raised. The API here is a small in-memory stand-in recording calls;
the real API server's side is tests/integration/test_policyreport_apiserver.py."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from parity.drift.report.policyreport import API_VERSION, PLURAL
from parity.kube.client import KubeError
from parity.policyreports import PolicyReportPublisher, report_fingerprint

BODY = {"metadata": {"namespace": "team", "name": "dev", "uid": "uid-1"}}
DRIFT = {"baseline": "production", "highestSeverity": "critical",
         "summary": {"critical": 1, "warning": 0, "info": 0},
         "findings": [{"path": "postgres.version", "component": "postgres", "level": "declared",
                       "change": "modified", "local": "15", "baseline": "16", "severity": "critical",
                       "remediation": "set spec.postgres.version to \"16\""}]}


class RecordingApi:
    def __init__(self, served=True, refuse=None):
        self.served = served
        self.refuse = refuse
        self.discoveries = 0
        self.applied: list[dict] = []

    def get(self, path):
        assert path == f"/apis/{API_VERSION}"
        self.discoveries += 1
        return {"resources": [{"name": PLURAL}]} if self.served else None

    def request(self, method, path, body=None, query=None, content_type=None):
        assert method == "PATCH" and path == f"/apis/{API_VERSION}/namespaces/team/{PLURAL}/parity-dev"
        assert ("fieldManager", "parity-operator") in query
        if self.refuse:
            raise KubeError(self.refuse, "Forbidden", "policyreports is forbidden")
        self.applied.append(body)
        return body


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_published_once_per_content_and_again_when_it_changes():
    api, clock = RecordingApi(), Clock()
    pub = PolicyReportPublisher(clock=clock)
    assert pub.publish(api, BODY, DRIFT) is True
    assert pub.publish(api, BODY, DRIFT, now=datetime(2030, 1, 1, tzinfo=timezone.utc)) is False  # only time moved
    resolved = {**DRIFT, "highestSeverity": "none", "summary": {"critical": 0, "warning": 0, "info": 0},
                "findings": []}
    assert pub.publish(api, BODY, resolved) is True
    assert [r["summary"]["fail"] for r in api.applied] == [1, 0]
    assert api.applied[1]["summary"]["pass"] == 1
    # Forgotten on delete: a re-created environment of that name is published again.
    pub.forget("team", "dev")
    assert pub.publish(api, BODY, resolved) is True


def test_off_while_not_served_and_on_after_the_recheck_period():
    api, clock = RecordingApi(served=False), Clock()
    pub = PolicyReportPublisher(ttl=300, clock=clock)
    assert pub.publish(api, BODY, DRIFT) is False
    api.served = True
    clock.now = 299
    assert pub.publish(api, BODY, DRIFT) is False and api.discoveries == 1  # trusted for the period
    clock.now = 300
    assert pub.publish(api, BODY, DRIFT) is True and api.discoveries == 2


def test_mode_off_never_asks():
    api = RecordingApi()
    assert PolicyReportPublisher("off").publish(api, BODY, DRIFT) is False
    assert api.discoveries == 0 and not api.applied
    with pytest.raises(ValueError, match="PARITY_POLICY_REPORTS"):
        PolicyReportPublisher("sometimes")


def test_a_refused_write_is_logged_once_and_retried_later(caplog):
    api = RecordingApi(refuse=403)
    pub = PolicyReportPublisher()
    with caplog.at_level(logging.WARNING, logger="parity.policyreports"):
        assert pub.publish(api, BODY, DRIFT) is False
        assert pub.publish(api, BODY, DRIFT) is False
    assert len([r for r in caplog.records if "not written" in r.getMessage()]) == 1
    api.refuse = None
    assert pub.publish(api, BODY, DRIFT) is True  # not remembered as published while refused


def test_fingerprint_ignores_timestamps_only():
    a = {"results": [{"rule": "x", "timestamp": {"seconds": 1}}]}
    assert report_fingerprint(a) == report_fingerprint({"results": [{"rule": "x", "timestamp": {"seconds": 2}}]})
    assert report_fingerprint(a) != report_fingerprint({"results": [{"rule": "y", "timestamp": {"seconds": 1}}]})
