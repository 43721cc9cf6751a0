"""Notification metrics, in the operator's registry. Labels are bounded by the notifiers and
their targets (a handful per namespace); a deleted notifier's series are removed."""

from __future__ import annotations

from prometheus_client import Counter

from parity.metrics import REGISTRY

SENT = Counter("parity_notifications_sent_total", "Notifications delivered, by notifier, target and event",
               ["namespace", "notifier", "target", "event"], registry=REGISTRY)
FAILED = Counter("parity_notification_failures_total",
                 "Notifications that could not be delivered after every retry (or were refused)",
                 ["namespace", "notifier", "target"], registry=REGISTRY)

DROPPED = Counter("parity_notifications_dropped_total",
                  "Notifications not queued because the queue was full (the next verdict offers them again)",
                  registry=REGISTRY)


def record(namespace: str, notifier: str, target: str, event: str, ok: bool) -> None:
    if ok:
        SENT.labels(namespace, notifier, target, event).inc()
    else:
        FAILED.labels(namespace, notifier, target).inc()


def forget(namespace: str, notifier: str) -> None:
    for counter in (SENT, FAILED):
        for labels in [k for k in list(counter._metrics) if k[:2] == (namespace, notifier)]:  # noqa: SLF001
            counter.remove(*labels)
