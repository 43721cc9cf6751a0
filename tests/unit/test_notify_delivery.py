"""Notifications against a real local HTTP server (http.server in a thread): message content,
dedupe, escalation, resolution, retries on 500 and on timeouts, a refused message, and a slow
receiver that never delays the caller (offer returns at once)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from parity.notify.dispatcher import Dispatcher, Target
from parity.notify.events import DETECTED, ESCALATED, RESOLVED

SECRET_PATH = "/hooks/T000/B000/s3cr3t-token"


class Receiver:
    """Records every POST; answers with the scripted (status, delay) pairs, then 200."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.attempts = 0
        self.script: list[tuple[int, float]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with receiver.lock:
                    receiver.attempts += 1
                    status, delay = receiver.script.pop(0) if receiver.script else (200, 0.0)
                time.sleep(delay)
                if status == 200:
                    with receiver.lock:
                        receiver.bodies.append(body)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def finding(path: str, severity: str, **extra) -> dict:
    return {"path": path, "level": "runtime", "component": path.split(".")[0], "change": "modified",
            "severity": severity, "local": "100mb", "baseline": "256mb",
            "remediation": f"run CONFIG SET for {path}", **extra}


def drift(*findings: dict, verdict: str | None = None) -> dict:
    order = ("critical", "warning", "info")
    highest = next((s for s in order if any(f["severity"] == s for f in findings)), "none")
    return {"baseline": "staging", "highestSeverity": verdict or highest, "findings": list(findings)}


CONTEXT = {"namespace": "team-a", "name": "dev", "baseline": "staging", "notifier": "team-a/alerts", "cause": None}
KEY = ("team-a/alerts", "team-a/dev", "ops")


async def dispatcher(**kwargs) -> Dispatcher:
    outcomes = []
    d = Dispatcher(on_outcome=lambda job, n, o: outcomes.append((job.target.name, n.kind, o)),
                   backoff=kwargs.pop("backoff", 0.01), **kwargs)
    d.outcomes = outcomes  # type: ignore[attr-defined]
    d.start()
    return d


async def test_webhook_content_dedupe_escalation_and_resolution(receiver):
    d = await dispatcher()
    target = Target("ops", "webhook", receiver.url, "warning")
    try:
        warning = finding("redis.config.maxmemory", "warning")
        info = finding("etcd.resources.limits.memory", "info")
        assert d.offer(KEY, target, drift(warning, info), CONTEXT).kind == DETECTED
        await d.drain()
        # The same set again (the operator re-evaluates every minute): nothing is sent.
        assert d.offer(KEY, target, drift(warning, info), CONTEXT) is None
        # Below the target's threshold: no change for it.
        assert d.offer(KEY, target, drift(warning), CONTEXT) is None
        critical = finding("postgres.version", "critical", local="15", baseline="16")
        assert d.offer(KEY, target, drift(critical, warning), CONTEXT).kind == ESCALATED
        await d.drain()
        assert d.offer(KEY, target, drift(info), CONTEXT).kind == RESOLVED
        await d.drain()
        assert d.offer(KEY, target, drift(), CONTEXT) is None
    finally:
        await d.close()

    assert [b["event"] for b in receiver.bodies] == [DETECTED, ESCALATED, RESOLVED]
    detected, escalated, resolved = receiver.bodies
    assert detected["schemaVersion"] == "parity.dev/notification/v1"
    assert detected["environment"] == {"namespace": "team-a", "name": "dev"}
    assert detected["baseline"] == "staging" and detected["highestSeverity"] == "warning"
    assert [f["path"] for f in detected["findings"]] == ["redis.config.maxmemory"]  # info is below the threshold
    assert detected["findings"][0]["remediation"] == "run CONFIG SET for redis.config.maxmemory"
    assert detected["describe"] == "kubectl describe penv dev -n team-a"
    assert [f["path"] for f in escalated["newFindings"]] == ["postgres.version"]
    assert escalated["highestSeverity"] == "critical" and escalated["summary"]["critical"] == 1
    assert resolved["findings"] == [] and resolved["highestSeverity"] == "none"
    assert sorted(f["path"] for f in resolved["resolvedFindings"]) == ["postgres.version", "redis.config.maxmemory"]
    assert all(SECRET_PATH not in json.dumps(b) for b in receiver.bodies)
    assert [(kind, o.ok) for _, kind, o in d.outcomes] == [(DETECTED, True), (ESCALATED, True), (RESOLVED, True)]


async def test_slack_block_kit_message(receiver):
    d = await dispatcher()
    target = Target("chat", "slack", receiver.url, "info")
    try:
        d.offer(("n", "e", "chat"), target, drift(finding("redis.config.maxmemory", "critical")),
                {**CONTEXT, "cause": "ParityBaseline staging changed (resourceVersion 42)"})
        await d.drain()
    finally:
        await d.close()
    (body,) = receiver.bodies
    assert body["text"].startswith("team-a/dev drifts from baseline 'staging': 1 critical")
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Drift detected: team-a/dev"}}
    assert "ParityBaseline staging changed" in body["blocks"][1]["text"]["text"]
    assert "`redis.config.maxmemory`" in body["blocks"][2]["text"]["text"]
    assert "kubectl describe penv dev -n team-a" in body["blocks"][-1]["elements"][0]["text"]


async def test_an_unknown_verdict_sends_nothing(receiver):
    d = await dispatcher()
    try:
        assert d.offer(KEY, Target("ops", "webhook", receiver.url), drift(verdict="unknown"), CONTEXT) is None
    finally:
        await d.close()
    assert receiver.attempts == 0


async def test_retries_on_500_then_delivers(receiver):
    receiver.script = [(500, 0), (503, 0)]
    d = await dispatcher(attempts=4)
    try:
        d.offer(KEY, Target("ops", "webhook", receiver.url), drift(finding("a.b", "warning")), CONTEXT)
        await d.drain()
    finally:
        await d.close()
    assert receiver.attempts == 3 and len(receiver.bodies) == 1
    (_, _, outcome), = d.outcomes
    assert outcome.ok and outcome.attempts == 3


async def test_retries_on_timeout_and_gives_up_after_the_bound(receiver):
    receiver.script = [(200, 1.0)] * 3
    d = await dispatcher(attempts=3, timeout=0.2)
    try:
        d.offer(KEY, Target("ops", "webhook", receiver.url), drift(finding("a.b", "warning")), CONTEXT)
        await d.drain()
        (_, _, outcome), = d.outcomes
        assert not outcome.ok and outcome.attempts == 3
        assert outcome.reason == "no answer within 0.2s after 3 attempts"
        assert "127.0.0.1" not in outcome.reason and SECRET_PATH not in outcome.reason
        # Not remembered as sent, and not offered again at once for the same findings.
        assert d.offer(KEY, Target("ops", "webhook", receiver.url), drift(finding("a.b", "warning")), CONTEXT) is None
    finally:
        await d.close()


async def test_a_refused_message_is_not_retried(receiver):
    receiver.script = [(400, 0)]
    d = await dispatcher(attempts=4)
    try:
        d.offer(KEY, Target("ops", "webhook", receiver.url), drift(finding("a.b", "warning")), CONTEXT)
        await d.drain()
    finally:
        await d.close()
    (_, _, outcome), = d.outcomes
    assert receiver.attempts == 1 and outcome.reason == "HTTP 400 (refused, not retried) after 1 attempt"


async def test_a_failed_delivery_is_offered_again_after_retry_after(receiver):
    now = [1000.0]
    receiver.script = [(500, 0)]
    d = await dispatcher(attempts=1, retry_after=60, clock=lambda: now[0])
    target = Target("ops", "webhook", receiver.url)
    try:
        d.offer(KEY, target, drift(finding("a.b", "warning")), CONTEXT)
        await d.drain()
        assert d.offer(KEY, target, drift(finding("a.b", "warning")), CONTEXT) is None
        now[0] += 61
        assert d.offer(KEY, target, drift(finding("a.b", "warning")), CONTEXT).kind == DETECTED
        await d.drain()
    finally:
        await d.close()
    assert [o.ok for _, _, o in d.outcomes] == [False, True] and len(receiver.bodies) == 1


async def test_a_malformed_url_fails_without_a_request_and_without_quoting_it(receiver):
    d = await dispatcher()
    try:
        d.offer(KEY, Target("ops", "webhook", "ftp://hooks.example/s3cr3t"), drift(finding("a.b", "warning")), CONTEXT)
        await d.drain()
    finally:
        await d.close()
    (_, _, outcome), = d.outcomes
    assert (outcome.ok, outcome.attempts) == (False, 0)
    assert outcome.reason == "the URL must start with http:// or https://"


async def test_a_slow_receiver_does_not_delay_the_caller(receiver):
    receiver.script = [(200, 0.8)]
    d = await dispatcher(timeout=5)
    other = Target("other", "webhook", receiver.url)
    try:
        d.offer(KEY, Target("ops", "webhook", receiver.url), drift(finding("a.b", "warning")), CONTEXT)
        await asyncio.sleep(0.1)  # the worker is now waiting on the slow receiver
        # Offering (what a status update does) returns while that delivery is still under way.
        assert d.offer(("n", "e", "other"), other, drift(finding("c.d", "critical")), CONTEXT) is not None
        assert receiver.bodies == [] and not d.queue.empty()
        await d.drain()
    finally:
        await d.close()
    assert [b["target"] for b in receiver.bodies] == ["ops", "other"]


async def test_a_superseded_verdict_is_not_sent(receiver):
    receiver.script = [(200, 0.5)]
    d = await dispatcher()
    target = Target("ops", "webhook", receiver.url)
    try:
        d.offer(("n", "e", "first"), Target("first", "webhook", receiver.url), drift(finding("x.y", "warning")), CONTEXT)
        await asyncio.sleep(0.1)
        d.offer(KEY, target, drift(finding("a.b", "warning")), CONTEXT)
        d.offer(KEY, target, drift(finding("a.b", "warning"), finding("c.d", "critical")), CONTEXT)
        await d.drain()
    finally:
        await d.close()
    assert [(b["target"], b["event"], len(b["findings"])) for b in receiver.bodies] == [
        ("first", DETECTED, 1), ("ops", DETECTED, 2)]


async def test_a_full_queue_drops_and_counts(receiver):
    from parity.notify import metrics as notify_metrics

    d = Dispatcher(maxsize=1)  # not started: nothing is taken off the queue
    before = notify_metrics.DROPPED._value.get()
    target = Target("ops", "webhook", receiver.url)
    assert d.offer(KEY, target, drift(finding("a.b", "warning")), CONTEXT) is not None
    assert d.offer(("n", "e", "x"), target, drift(finding("c.d", "warning")), CONTEXT) is None
    assert (d.dropped, notify_metrics.DROPPED._value.get()) == (1, before + 1)
    await d.close()
