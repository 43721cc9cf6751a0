"""What every handler does around a sync: serialise, time, translate errors, post events."""

from __future__ import annotations

import kopf

from parity import metrics
from parity.api import SpecError
from parity.kube.client import KubeError
from parity.reconcile import Outcome, sync_environment


def run_sync(memo: kopf.Memo, namespace: str, name: str, *, trigger: str, apply_changes: bool,
             coalesce: bool = False, logger=None) -> Outcome | None:
    """Sync one environment under its lock; errors become kopf's Temporary/Permanent errors."""
    key = (namespace, name)

    def work() -> Outcome | None:
        with metrics.RECONCILE_SECONDS.labels(trigger).time():
            return sync_environment(memo.kube, namespace, name, apply_changes=apply_changes,
                                    runtime=memo.runtime.get(key), runtime_probes=memo.config.runtime_probes,
                                    catalog=memo.config.images)

    try:
        if coalesce:
            outcome = memo.triggers.coalesce(key, work, settle=memo.config.settle_seconds)
        else:
            outcome = memo.triggers.run(key, work)
    except SpecError as err:
        metrics.RECONCILE_ERRORS.labels(trigger).inc()
        raise kopf.PermanentError(str(err)) from None
    except KubeError as err:
        metrics.RECONCILE_ERRORS.labels(trigger).inc()
        if 400 <= err.status < 500 and err.status not in (404, 409, 429):
            raise kopf.PermanentError(f"the API server refused a write: {err}") from None
        raise kopf.TemporaryError(f"Kubernetes API: {err}", delay=5) from None
    if outcome is not None:
        post_events(outcome)
        if logger is not None and outcome.applied:
            logger.info("applied %d object(s): %s", len(outcome.applied), ", ".join(outcome.applied))
    return outcome


def post_events(outcome: Outcome) -> None:
    for event in outcome.events:
        kopf.event(outcome.body, type=event.type, reason=event.reason, message=event.message)
