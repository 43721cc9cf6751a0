"""The bodies sent to targets. Pure.

Built only from an environment's status.drift (which never holds a secret value: Secret data is
`<redacted>` there) and names, never from Secrets or the notifier's URL.

`webhook` (generic JSON, `schemaVersion: parity.dev/notification/v1`) and `slack` (an incoming
webhook message: `text` as the fallback plus Block Kit `blocks`). docs/drift.md shows both.
"""

from __future__ import annotations

from typing import Any, Mapping

from parity import constants
from parity.notify.events import DETECTED, ESCALATED, RESOLVED, Notification

SCHEMA_VERSION = "parity.dev/notification/v1"
WEBHOOK, SLACK = "webhook", "slack"
TARGET_TYPES = (WEBHOOK, SLACK)
# A Slack section's text is limited to 3000 characters and a message to 50 blocks.
SLACK_FINDINGS = 10
SLACK_TEXT_LIMIT = 2900
FINDING_FIELDS = ("path", "level", "component", "change", "severity", "local", "baseline", "remediation", "kind",
                  "name", "member", "manager")
_HEADLINES = {
    DETECTED: "Drift detected",
    ESCALATED: "Drift escalated",
    RESOLVED: "Drift resolved",
}
_ICONS = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def _finding(f: Mapping[str, Any]) -> dict[str, Any]:
    return {k: f[k] for k in FINDING_FIELDS if f.get(k) is not None}


def describe_hint(namespace: str, name: str) -> str:
    return f"kubectl describe {constants.ENVIRONMENT_SHORT_NAME} {name} -n {namespace}"


def summary_line(n: Notification, namespace: str, name: str, baseline: str) -> str:
    where = f"{namespace}/{name}"
    if n.kind == RESOLVED:
        return f"{where} is back in parity with baseline {baseline!r} ({len(n.resolved)} findings resolved)"
    counts = ", ".join(f"{n.summary.get(s, 0)} {s}" for s in reversed(constants.SEVERITIES) if n.summary.get(s))
    return f"{where} drifts from baseline {baseline!r}: {counts} (highest {n.highest})"


def build_webhook_payload(n: Notification, *, namespace: str, name: str, baseline: str, notifier: str,
                          target: str, cause: str | None = None) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "event": n.kind,
        "environment": {"namespace": namespace, "name": name},
        "baseline": baseline,
        "highestSeverity": n.highest or "none",
        "summary": dict(n.summary),
        "text": summary_line(n, namespace, name, baseline),
        "cause": cause,
        "findings": [_finding(f) for f in n.findings],
        "newFindings": [_finding(f) for f in n.new],
        "resolvedFindings": [_finding(f) for f in n.resolved],
        "fingerprint": n.fingerprint,
        "describe": describe_hint(namespace, name),
        "notifier": notifier,
        "target": target,
    }


def _cut(text: str, limit: int = SLACK_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_line(f: Mapping[str, Any]) -> str:
    icon = _ICONS.get(str(f.get("severity")), "")
    values = ""
    if f.get("local") is not None or f.get("baseline") is not None:
        values = f" (`{f.get('local', '-')}` here, `{f.get('baseline', '-')}` expected)"
    return f"{icon} *{f.get('severity')}* `{f.get('path')}` {f.get('level')}{values}\n> {f.get('remediation', '')}"


def build_slack_payload(n: Notification, *, namespace: str, name: str, baseline: str, cause: str | None = None
                        ) -> dict[str, Any]:
    headline = f"{_HEADLINES[n.kind]}: {namespace}/{name}"
    text = summary_line(n, namespace, name, baseline)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(headline, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text + (f"\n_Cause: {cause}_" if cause else ""))}},
    ]
    listed = n.new if n.kind != RESOLVED else n.resolved
    title = "Resolved" if n.kind == RESOLVED else "New"
    if listed:
        lines = [_slack_line(f) for f in listed[:SLACK_FINDINGS]]
        more = len(listed) - SLACK_FINDINGS
        if more > 0:
            lines.append(f"… and {more} more")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*{title}:*\n" + "\n".join(lines))}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"`{describe_hint(namespace, name)}` · `parity diff -n {namespace} {name}`"}]})
    return {"text": text, "blocks": blocks}


def build_payload(target_type: str, n: Notification, **context: Any) -> dict[str, Any]:
    if target_type == SLACK:
        context = {k: v for k, v in context.items() if k in ("namespace", "name", "baseline", "cause")}
        return build_slack_payload(n, **context)
    return build_webhook_payload(n, **context)



