"""The pure parts of notifications: decide (dedupe, escalation, resolution, thresholds, unknown),
the cause of a baseline change, targets from Secrets (problems that never quote a URL), the
notifier's conditions, the Slack message's bounds, the failure metric."""

from __future__ import annotations

import base64

from parity.api.notifier import NotifierSpec
from parity.notify import metrics as notify_metrics
from parity.notify.events import DETECTED, ESCALATED, RESOLVED, cause_of, decide, sent
from parity.notify.payload import SLACK_FINDINGS, build_slack_payload, build_webhook_payload
from parity.notify.targets import INVALID_URL, KEY_NOT_FOUND, NO_TARGETS, SECRET_NOT_FOUND, resolve_targets
from parity.status import notifier_conditions


def f(path: str, severity: str, **extra) -> dict:
    return {"path": path, "level": "declared", "change": "modified", "severity": severity,
            "remediation": "fix it", **extra}


def drift(*findings: dict, verdict: str | None = None) -> dict:
    order = ("critical", "warning", "info")
    highest = next((s for s in order if any(x["severity"] == s for x in findings)), "none")
    return {"baseline": "staging", "highestSeverity": verdict or highest, "findings": list(findings)}


def test_decide_sequence():
    first = decide(drift(f("a", "warning")), None, "warning")
    assert (first.kind, first.highest, [x["path"] for x in first.new]) == (DETECTED, "warning", ["a"])
    assert decide(drift(f("a", "warning")), sent(first), "warning") is None
    # Remediation wording is not identity: re-worded text is the same finding.
    assert decide(drift(f("a", "warning", remediation="other words")), sent(first), "warning") is None
    more = decide(drift(f("a", "warning"), f("b", "warning")), sent(first), "warning")
    assert (more.kind, [x["path"] for x in more.new], more.resolved) == (DETECTED, ["b"], ())
    up = decide(drift(f("a", "critical")), sent(more), "warning")
    assert (up.kind, [x["path"] for x in up.new], sorted(x["path"] for x in up.resolved)) == (
        ESCALATED, ["a"], ["a", "b"])
    down = decide(drift(f("a", "warning")), sent(up), "warning")
    assert down.kind == DETECTED  # de-escalation is a change, not an escalation
    gone = decide(drift(f("z", "info")), sent(down), "warning")
    assert (gone.kind, gone.findings, gone.highest) == (RESOLVED, (), None)
    assert decide(drift(), sent(gone), "warning") is None


def test_nothing_to_resolve_when_nothing_was_sent():
    assert decide(drift(), None, "info") is None
    assert decide(drift(f("a", "info")), None, "warning") is None


def test_unknown_verdicts_and_missing_drift_send_nothing():
    assert decide(drift(f("a", "critical"), verdict="unknown"), None, "info") is None
    assert decide(None, None, "info") is None


def test_cause_of_a_baseline_change():
    assert cause_of(None, drift()) is None
    assert cause_of(("staging", 3), {**drift(), "baselineGeneration": 3}) is None
    assert cause_of(("staging", 3), {**drift(), "baselineGeneration": 4}) == \
        "ParityBaseline staging changed (generation 3 → 4)"
    assert cause_of(("production", 1), {**drift(), "baselineGeneration": 1}) == \
        "spec.baselineRef now names ParityBaseline staging (was production)"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_targets_from_secrets_and_problems_that_never_quote_the_url():
    spec = NotifierSpec.model_validate({"targets": [
        {"name": "ok", "type": "slack", "secretRef": {"name": "hooks", "key": "slack"}, "minSeverity": "critical"},
        {"name": "missing", "secretRef": {"name": "nope"}},
        {"name": "nokey", "secretRef": {"name": "hooks", "key": "absent"}},
        {"name": "ftp", "secretRef": {"name": "hooks", "key": "ftp"}},
        {"name": "garbage", "secretRef": {"name": "hooks", "key": "garbage"}},
    ]})
    secrets = {"hooks": {"slack": b64("https://hooks.slack.test/T1/B2/s3cr3t\n"), "ftp": b64("ftp://x/s3cr3t"),
                         "garbage": "%%%"}, "nope": None}
    targets, problems = resolve_targets(spec, secrets)
    assert [(t.name, t.type, t.url, t.min_severity) for t in targets] == [
        ("ok", "slack", "https://hooks.slack.test/T1/B2/s3cr3t", "critical")]
    assert "s3cr3t" not in repr(targets)  # the URL is kept out of repr (logs)
    assert problems == [
        (SECRET_NOT_FOUND, "target missing: Secret nope not found"),
        (KEY_NOT_FOUND, "target nokey: Secret hooks has no key 'absent'"),
        (INVALID_URL, "target ftp: Secret hooks key 'ftp': the URL must start with http:// or https://"),
        (INVALID_URL, "target garbage: Secret hooks key 'garbage' is not valid base64 text"),
    ]
    assert resolve_targets(NotifierSpec(), {}) == ([], [(NO_TARGETS, "spec.targets is empty: nothing is sent")])


def test_notifier_conditions():
    ready, delivering = notifier_conditions([], {}, 2)
    assert (ready["status"], ready["reason"], delivering["status"], delivering["reason"]) == (
        "True", "TargetsReady", "Unknown", "NothingSent")
    ready, delivering = notifier_conditions([(SECRET_NOT_FOUND, "target a: Secret x not found")],
                                            {"b": (False, "HTTP 500 after 4 attempts"), "c": (True, "")}, 2)
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", SECRET_NOT_FOUND, "target a: Secret x not found")
    assert (delivering["status"], delivering["reason"], delivering["message"]) == (
        "False", "DeliveryFailed", "target b: HTTP 500 after 4 attempts")
    _, delivering = notifier_conditions([], {"c": (True, "")}, 2)
    assert (delivering["status"], delivering["reason"]) == ("True", "Delivered")


def test_slack_message_stays_within_block_kit_limits_and_webhook_lists_everything():
    many = [f(f"postgres.parameters.p{i:02}", "warning", local="x" * 400, baseline="y") for i in range(30)]
    n = decide(drift(*many), None, "warning")
    slack = build_slack_payload(n, namespace="ns", name="dev", baseline="staging")
    listed = slack["blocks"][2]["text"]["text"]
    assert listed.count("postgres.parameters.p") <= SLACK_FINDINGS
    assert len(listed) <= 3000 and len(slack["blocks"]) <= 50
    webhook = build_webhook_payload(n, namespace="ns", name="dev", baseline="staging", notifier="ns/a", target="t")
    assert len(webhook["findings"]) == 30 and webhook["summary"] == {"info": 0, "warning": 30, "critical": 0}


def test_failures_are_counted_in_the_metric():
    before = notify_metrics.FAILED.labels("ns", "alerts", "ops")._value.get()
    notify_metrics.record("ns", "alerts", "ops", DETECTED, ok=False)
    notify_metrics.record("ns", "alerts", "ops", DETECTED, ok=True)
    assert notify_metrics.FAILED.labels("ns", "alerts", "ops")._value.get() == before + 1
    assert notify_metrics.SENT.labels("ns", "alerts", "ops", DETECTED)._value.get() >= 1
    notify_metrics.forget("ns", "alerts")
    assert ("ns", "alerts", "ops") not in notify_metrics.FAILED._metrics
