"""Notifications through the operator, against the real API server and a real local HTTP
receiver: a drift produces one webhook delivery, its resolution another, and a change of the
baseline a third that names the baseline change as its cause. The notifier's status says so."""

from __future__ import annotations

import base64
import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from support import REPO_ROOT, kget, wait_until

pytestmark = pytest.mark.integration


class Receiver:
    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                receiver.bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def apply(plane, manifest: dict, namespace: str | None = None) -> None:
    plane.kubectl("apply", "-f", "-", *(["-n", namespace] if namespace else []), input=json.dumps(manifest))


def events(receiver: Receiver) -> list[str]:
    return [b["event"] for b in receiver.bodies]


def test_drift_resolution_and_baseline_change_each_send_one_message(operator, namespace, receiver):
    plane = operator.plane
    baseline = yaml.safe_load((REPO_ROOT / "baselines/production.yaml").read_text())
    baseline["metadata"] = {"name": f"notify-{namespace}"[:63]}
    apply(plane, baseline)
    matching = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
    matching["spec"].update(copy.deepcopy(baseline["spec"]["environment"]))
    matching["spec"]["baselineRef"] = {"name": baseline["metadata"]["name"]}
    apply(plane, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hook"},
                  "data": {"url": base64.b64encode(receiver.url.encode()).decode()}}, namespace)
    apply(plane, {"apiVersion": "parity.dev/v1alpha1", "kind": "ParityNotifier", "metadata": {"name": "alerts"},
                  "spec": {"targets": [{"name": "ops", "secretRef": {"name": "hook"}, "minSeverity": "warning"}]}},
          namespace)
    wait_until(lambda: any(c["type"] == "Ready" and c["status"] == "True"
                           for c in (kget(plane, "pnot", "alerts", "-n", namespace).get("status") or {})
                           .get("conditions", [])), timeout=60, what="notifier Ready")
    try:
        drifting = copy.deepcopy(matching)
        drifting["spec"]["redis"]["config"]["maxmemory-policy"] = "noeviction"
        apply(plane, drifting, namespace)
        wait_until(lambda: events(receiver) == ["DriftDetected"], timeout=60, what="one DriftDetected message")
        detected = receiver.bodies[0]
        assert detected["environment"] == {"namespace": namespace, "name": "dev"}
        assert [(f["path"], f["severity"]) for f in detected["findings"]] == [
            ("redis.config.maxmemory-policy", "critical")]
        assert detected["findings"][0]["remediation"]
        assert "secret-token" not in json.dumps(detected)

        apply(plane, matching, namespace)
        wait_until(lambda: events(receiver)[-1:] == ["DriftResolved"], timeout=60, what="a DriftResolved message")
        assert events(receiver) == ["DriftDetected", "DriftResolved"]

        changed = copy.deepcopy(baseline)
        changed["spec"]["environment"]["redis"]["config"]["maxmemory-policy"] = "volatile-lru"
        apply(plane, changed)
        wait_until(lambda: len(receiver.bodies) == 3, timeout=60, what="a message after the baseline change")
        third = receiver.bodies[2]
        assert third["event"] == "DriftDetected"
        assert third["cause"].startswith(f"ParityBaseline {baseline['metadata']['name']} changed (generation")
        assert [f["path"] for f in third["newFindings"]] == ["redis.config.maxmemory-policy"]

        status = wait_until(lambda: (s := kget(plane, "pnot", "alerts", "-n", namespace).get("status") or {})
                            and s.get("targets") and s, timeout=30, what="notifier status.targets")
        (target,) = status["targets"]
        assert target["name"] == "ops" and target["lastDelivered"] is True and target["failures"] == 0
        delivering = {c["type"]: c for c in status["conditions"]}["Delivering"]
        assert delivering["status"] == "True"
    finally:
        plane.kubectl("delete", "paritybaseline", baseline["metadata"]["name"], "--ignore-not-found", check=False)


def test_a_missing_secret_is_a_condition_not_a_crash(operator, namespace):
    plane = operator.plane
    apply(plane, {"apiVersion": "parity.dev/v1alpha1", "kind": "ParityNotifier", "metadata": {"name": "alerts"},
                  "spec": {"targets": [{"name": "ops", "secretRef": {"name": "nope"}}]}}, namespace)
    ready = wait_until(lambda: {c["type"]: c for c in (kget(plane, "pnot", "alerts", "-n", namespace)
                                                       .get("status") or {}).get("conditions", [])}.get("Ready"),
                       timeout=60, what="notifier Ready condition")
    assert (ready["status"], ready["reason"]) == ("False", "SecretNotFound")
    assert ready["message"] == "target ops: Secret nope not found"
    assert operator.proc is not None and operator.proc.poll() is None  # still running
