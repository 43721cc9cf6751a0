"""What every handler does around a sync: serialise, time, translate errors, post events."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable

import kopf

from parity import metrics
from parity.actuate.outcome import summarize_roll, with_rolling
from parity.api import SpecError
from parity.kube import resources
from parity.kube.children import list_children
from parity.kube.client import KubeError
from parity.reconcile import Outcome, now_iso, sync_environment

log = logging.getLogger(__name__)

# After settings were changed, wait this long before probing: Patroni applies a new dynamic
# configuration on its next loop (loop_wait), and a probe sooner would report the old values
# as drift for one pass.
SETTLE_AFTER_ACTUATION_SECONDS = 12


def run_sync(memo: kopf.Memo, namespace: str, name: str, *, trigger: str, apply_changes: bool,
             coalesce: bool = False, fresh: bool = False, logger=None) -> Outcome | None:
    """Sync one environment under its lock; errors become kopf's Temporary/Permanent errors.
    Children are read from the watch-fed index (memo.children, handlers/index.py), or with LIST
    when `fresh`: a sync applying a new spec must not compare it with hashes an index has not
    caught up on (our own previous writes), or it would skip an apply that is needed."""
    key = (namespace, name)
    work, work_handed_over = _sync_callables(memo, namespace, name, trigger=trigger, apply_changes=apply_changes,
                                             fresh=fresh, logger=logger)
    try:
        if coalesce:
            return memo.triggers.coalesce(key, work, settle=memo.config.settle_seconds, handed_over=work_handed_over)
        return memo.triggers.run(key, work)
    except (SpecError, KubeError) as err:
        raise _handler_error(err, trigger) from None


def request_sync(memo: kopf.Memo, namespace: str, name: str, *, trigger: str) -> None:
    """A coalesced sync that reports nothing, asked for from the event loop (an async handler).
    Once it completed, its inputs' fingerprint is left for the timer (handlers/quiet.py).

    Nothing waits for it: the settle wait is a timer on the loop, the sync runs on memo.sync_pool.
    A sync handler would hold one of kopf's threads for the settle wait, and kopf's queue worker
    would hold the event's body until a thread was free: with a hundred environments created at
    once that was thousands of parsed bodies waiting for eight threads."""
    key = (namespace, name)
    if not memo.triggers.claim(key):
        return  # a sync already waits; it will read what this event changed
    loop = asyncio.get_running_loop()
    # kopf.event finds kopf's event queue in a context variable: kopf copies the context into its
    # own threads, a plain pool does not, so the sync runs in a copy of this handler's.
    context = contextvars.copy_context()
    # Without probes a pass with unchanged inputs may be skipped; with them it always runs.
    fingerprints = None if memo.config.runtime_probes else getattr(memo, "inputs_fingerprint", None)

    def run_claimed(children: int | None) -> None:
        _work, work_handed_over = _sync_callables(memo, namespace, name, trigger=trigger, apply_changes=False)
        if children is not None:
            work_handed_over = _then(work_handed_over, lambda outcome: _leave_fingerprint(
                memo, loop, fingerprints, key, children, outcome))
        try:
            # A timer's pass is no burst, so it does not space the next event sync: a child or
            # baseline edit within a second of its environment's pass would wait out the spacing.
            memo.triggers.run_claimed(key, work_handed_over, spaces_next=trigger != "timer")
        except Exception:  # noqa: BLE001 - nobody reads this future: say it here
            log.exception("%s/%s: %s sync failed", namespace, name, trigger)

    def start() -> None:
        # The children as they are before the sync reads them: a change after this asks for
        # another sync, so what the fingerprint holds is never newer than what was read.
        children = None
        try:
            if fingerprints is not None:
                children = fingerprints.children(namespace, name)
                memo.quiet_passes.started(key, children)
        except Exception:  # noqa: BLE001 - the claim above must end in a sync, fingerprint or not
            log.exception("%s/%s: no fingerprint for this sync; the next timer pass runs in full", namespace, name)
        try:
            memo.sync_pool.submit(context.run, run_claimed, children)
        except RuntimeError:  # the pool is shut down: the operator is stopping
            pass

    config = memo.config
    loop.call_later(memo.triggers.wait_before(key, config.settle_seconds, config.sync_spacing_seconds,
                                              config.sync_spacing_max_seconds), start)


def _leave_fingerprint(memo: kopf.Memo, loop: asyncio.AbstractEventLoop, fingerprints, key: tuple[str, str],
                       children: int, outcome: Outcome | None) -> None:
    """From the sync's thread: what the completed sync read, for the timer (handlers/quiet.py).
    The baseline's entry is taken on the loop (an edit of it asks for a sync of its own)."""
    if outcome is None or outcome.body is None:
        memo.quiet_passes.completed(key, 0, None)
        return
    baseline_name = ((outcome.body.get("spec") or {}).get("baselineRef") or {}).get("name")

    def leave() -> None:
        if memo.triggers.knows(key):  # not deleted meanwhile: bounded by the live environments
            memo.quiet_passes.completed(key, fingerprints.with_children(children, outcome.resource_version,
                                                                        baseline_name), outcome.status)
    try:
        loop.call_soon_threadsafe(leave)
    except RuntimeError:  # the loop is closed: the operator is stopping
        pass


def _then(work: Callable[[], Outcome | None], after: Callable[[Outcome | None], object]) -> Callable[[], None]:
    def work_then_after() -> None:
        outcome = None
        try:
            outcome = work()
        finally:
            after(outcome)
    return work_then_after


def _sync_callables(memo: kopf.Memo, namespace: str, name: str, *, trigger: str, apply_changes: bool,
                    fresh: bool = False, logger=None):
    """(work, work_handed_over): one sync of the environment with its reporting; the second
    says its own failure, for runs nobody waits for."""
    key = (namespace, name)
    children = list_children if fresh else getattr(memo, "children", list_children)

    def work() -> Outcome | None:
        with metrics.RECONCILE_SECONDS.labels(trigger).time():
            outcome = sync_environment(memo.kube, namespace, name, apply_changes=apply_changes,
                                       runtime=memo.runtime.get(key), runtime_probes=memo.config.runtime_probes,
                                       actuation=memo.actuation.get(key), catalog=memo.config.images,
                                       heartbeat_seconds=memo.config.status_heartbeat_seconds,
                                       children=children, baselines=getattr(memo, "baselines", None))
        if hasattr(memo, "children") and (fresh or (outcome is not None and outcome.applied)):
            # A kept credentials Secret may be the old one (written now), or contradict what this
            # sync's LIST found (deleted): the next sync reads it again (kube/index.py).
            memo.children.forget_credentials(namespace, name)
        if outcome is not None and outcome.body is not None:
            # Under the environment's lock, so an older report never overwrites a newer one.
            memo.policy_reports.publish(memo.kube, outcome.body, outcome.status.get("drift") or {})
        if outcome is not None:
            post_events(outcome)
            if logger is not None and outcome.applied:
                logger.info("applied %d object(s): %s", len(outcome.applied), ", ".join(outcome.applied))
        return outcome

    def work_handed_over() -> Outcome | None:
        # Run by whichever thread holds the environment's lock (handlers/triggers.py), after its
        # own sync: nobody is left to retry this one, so a failure is said here and the next
        # event or timer pass syncs again.
        try:
            return work()
        except (SpecError, KubeError) as err:
            failure = _handler_error(err, trigger)
            log.warning("%s/%s: %s sync failed: %s", namespace, name, trigger, failure)
            return None

    return work, work_handed_over


def _handler_error(err: SpecError | KubeError, trigger: str) -> kopf.PermanentError | kopf.TemporaryError:
    """What kopf makes of a failed sync: retry it later, or not (a spec or write it refuses)."""
    metrics.RECONCILE_ERRORS.labels(trigger).inc()
    if isinstance(err, SpecError):
        return kopf.PermanentError(str(err))
    if 400 <= err.status < 500 and err.status not in (404, 409, 429):
        return kopf.PermanentError(f"the API server refused a write: {err}")
    return kopf.TemporaryError(f"Kubernetes API: {err}", delay=5)


def post_events(outcome: Outcome) -> None:
    for event in outcome.events:
        kopf.event(outcome.body, type=event.type, reason=event.reason, message=event.message)


def refresh_runtime(memo: kopf.Memo, namespace: str, name: str, logger=None) -> None:
    """The runtime side of one environment: push its settings into the running services
    (parity.actuation), then probe them (parity.runtime). The next sync writes both into status."""
    # Imported here, with the runtime level: they load the PostgreSQL and Redis drivers
    # (19 MiB of RSS), which an operator with the runtime level off never needs.
    from parity.actuation import actuate_environment
    from parity.runtime import collect_runtime

    key = (namespace, name)
    body = memo.kube.get(resources.ENVIRONMENT.object_path(name, namespace))
    if body is None or body["metadata"].get("deletionTimestamp"):
        return
    if ((body.get("spec") or {}).get("drift") or {}).get("policy") == "approve":
        # Approvals are checked against what runs now, not against the last pass's probe: a
        # value changed since then has another correction id and must not be applied.
        memo.runtime[key] = collect_runtime(memo.kube, body, endpoint_map=memo.config.endpoint_map, logger=logger)
    outcome = actuate_environment(memo.kube, body, now=now_iso(), runtime=memo.runtime.get(key),
                                  endpoint_map=memo.config.endpoint_map)
    if outcome is not None:
        memo.actuation[key] = outcome.record
        for event in outcome.events:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
        if outcome.changes:
            if logger is not None:
                logger.info("changed %d setting(s) on the running services", len(outcome.changes))
            time.sleep(SETTLE_AFTER_ACTUATION_SECONDS)
        else:
            _roll_if_pending(memo, namespace, name, body, logger)
    memo.runtime[key] = collect_runtime(memo.kube, body, endpoint_map=memo.config.endpoint_map, logger=logger)


def _roll_if_pending(memo: kopf.Memo, namespace: str, name: str, body: dict, logger=None) -> None:
    """Restart the PostgreSQL members that wait for it, in order (actuate/rolling.py). Status
    says Reconciling/RollingRestart while it runs; the roll is bounded and resumes next pass."""
    from parity.actuation import pending_roll, roll_environment  # with the runtime level (refresh_runtime)

    key = (namespace, name)
    roll = pending_roll(memo.kube, body, endpoint_map=memo.config.endpoint_map)
    if roll is None:
        return
    description, urls, auth = roll
    record = memo.actuation.get(key) or (body.get("status") or {}).get("actuation") or {}
    memo.actuation[key] = with_rolling(record, description)
    run_sync(memo, namespace, name, trigger="rolling", apply_changes=False, coalesce=True, logger=logger)
    result = roll_environment(urls, auth=auth)
    outcome = summarize_roll(memo.actuation[key], result, now_iso())
    memo.actuation[key] = outcome.record
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
