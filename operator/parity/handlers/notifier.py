"""ParityNotifier: read its targets (Secrets) into memo, and offer every environment verdict to
the notification dispatcher (notify/dispatcher.py), which delivers in the background. Nothing
here waits on a receiver; the environment's reconcile is not involved at all (its status.drift
is the input, watched like any other event)."""

from __future__ import annotations

import asyncio
import datetime
import logging
from dataclasses import dataclass, field

import kopf
from pydantic import ValidationError

from parity import constants, status as verdicts
from parity.api.errors import describe_validation_error
from parity.api.notifier import NotifierSpec
from parity.kube import resources
from parity.kube.apply import patch_status
from parity.notify import metrics as notify_metrics
from parity.notify.dispatcher import Dispatcher, Job, Target
from parity.notify.events import Notification, cause_of
from parity.notify.targets import read_targets

NOTIFIER = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.NOTIFIER_PLURAL)
ENV = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.ENVIRONMENT_PLURAL)
SECRET_REFRESH_SECONDS = 60
log = logging.getLogger(__name__)


@dataclass
class NotifierState:
    targets: list[Target]
    environments: frozenset[str]
    problems: list[tuple[str, str]]
    generation: int | None
    last: dict[str, tuple[bool, str]] = field(default_factory=dict)  # target → (delivered, why not)
    failures: dict[str, int] = field(default_factory=dict)
    reported: dict = field(default_factory=dict)  # target → status entry


def _notifiers(memo: kopf.Memo) -> dict[tuple[str, str], NotifierState]:
    return memo.notifiers


def _dispatcher(memo: kopf.Memo) -> Dispatcher:
    return memo.notify_dispatcher


@kopf.on.startup()
async def start_dispatcher(memo: kopf.Memo, **_) -> None:
    """The notification state lives in the operator-wide memo (handlers get shallow copies of
    it, so the containers must exist before any handler runs); the worker runs in this loop."""
    memo.notifiers = {}  # (namespace, name) → NotifierState; dropped when the notifier is deleted
    memo.notify_seen = {}  # environment "ns/name" → (baseline, baselineGeneration) last seen
    dispatcher = Dispatcher()
    dispatcher.on_outcome = lambda job, n, o: _delivered(memo, job, n, o)
    dispatcher.start()
    memo.notify_dispatcher = dispatcher


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_status(memo: kopf.Memo, namespace: str, name: str, state: NotifierState, previous: list | None) -> None:
    conditions = verdicts.notifier_conditions(state.problems, state.last, state.generation)
    body = {"conditions": verdicts.merge_conditions(previous, conditions, _now()),
            "targets": [state.reported[t] for t in sorted(state.reported)]}
    patch_status(memo.kube, resources.NOTIFIER, namespace, name, body)


# ---- the notifier itself ---------------------------------------------------------------------


@kopf.on.resume(**NOTIFIER)
@kopf.on.create(**NOTIFIER)
@kopf.on.update(**NOTIFIER)
def refresh_notifier(namespace: str, name: str, spec, meta, status, memo: kopf.Memo, **_) -> None:
    """Targets from the spec and the Secrets it names (re-read every minute: a Secret created
    or fixed later is picked up), and the Ready condition."""
    generation = meta.get("generation")
    previous = _notifiers(memo).get((namespace, name))
    try:
        parsed = NotifierSpec.model_validate(dict(spec))
    except ValidationError as err:
        problems = [("InvalidSpec", "; ".join(describe_validation_error(err)))]
        state = NotifierState([], frozenset(), problems, generation)
    else:
        secrets = resources.SECRETS

        def get(secret_name: str):
            return memo.kube.get(secrets.object_path(secret_name, namespace))

        targets, problems = read_targets(get, parsed)
        state = NotifierState(targets, frozenset(parsed.environments), problems, generation)
    if previous is not None:
        state.last, state.failures, state.reported = previous.last, previous.failures, previous.reported
    _notifiers(memo)[(namespace, name)] = state
    conditions = verdicts.notifier_conditions(state.problems, state.last, state.generation)
    old = {c.get("type"): (c.get("status"), c.get("reason"), c.get("message"))
           for c in (status or {}).get("conditions") or []}
    if any(old.get(c["type"]) != (c["status"], c["reason"], c["message"]) for c in conditions):
        _write_status(memo, namespace, name, state, (status or {}).get("conditions"))


@kopf.timer(**NOTIFIER, interval=SECRET_REFRESH_SECONDS, idle=5, sharp=False)
def reread_secrets(**kwargs) -> None:
    refresh_notifier(**kwargs)


@kopf.on.event(**NOTIFIER)
def notifier_deleted(type: str | None, namespace: str, name: str, memo: kopf.Memo, **_) -> None:
    if type != "DELETED":
        return
    _notifiers(memo).pop((namespace, name), None)
    notify_metrics.forget(namespace, name)
    _dispatcher(memo).forget(lambda key: key[0] == f"{namespace}/{name}")


# ---- environments' verdicts ------------------------------------------------------------------


@kopf.on.event(**ENV)
async def offer_drift(type: str | None, namespace: str, name: str, status, memo: kopf.Memo, **_) -> None:
    """Every watch event of an environment: offer its status.drift to each notifier of its
    namespace that selects it. Dedupe is the dispatcher's: the same findings are sent once."""
    notifiers = [(key, state) for key, state in _notifiers(memo).items()
                 if key[0] == namespace and (not state.environments or name in state.environments)]
    where = f"{namespace}/{name}"
    if type == "DELETED":
        _dispatcher(memo).forget(lambda key: key[1] == where)
        memo.notify_seen.pop(where, None)
        return
    if not notifiers:
        return
    dispatcher = _dispatcher(memo)
    drift = (status or {}).get("drift")
    if not isinstance(drift, dict):
        return
    seen = memo.notify_seen.get(where)
    cause = cause_of(seen, drift)
    memo.notify_seen[where] = (drift.get("baseline"), drift.get("baselineGeneration"))
    for (notifier_namespace, notifier), state in notifiers:
        for target in state.targets:
            context = {"namespace": namespace, "name": name, "baseline": drift.get("baseline") or "",
                       "notifier": f"{notifier_namespace}/{notifier}", "cause": cause}
            dispatcher.offer((f"{notifier_namespace}/{notifier}", where, target.name), target, drift, context)


async def _delivered(memo: kopf.Memo, job: Job, notification: Notification, outcome) -> None:
    notifier_namespace, notifier = job.key[0].split("/", 1)
    notify_metrics.record(notifier_namespace, notifier, job.target.name, notification.kind, outcome.ok)
    state = _notifiers(memo).get((notifier_namespace, notifier))
    if state is None:
        return
    state.last[job.target.name] = (outcome.ok, outcome.reason)
    if not outcome.ok:
        state.failures[job.target.name] = state.failures.get(job.target.name, 0) + 1
    entry = {"name": job.target.name, "lastEvent": notification.kind, "lastEnvironment": job.context.get("name"),
             "lastDelivered": outcome.ok, "lastTime": _now(), "failures": state.failures.get(job.target.name, 0)}
    if outcome.reason:
        entry["lastReason"] = outcome.reason
    state.reported[job.target.name] = entry
    try:
        current = await asyncio.to_thread(memo.kube.get, resources.NOTIFIER.object_path(notifier, notifier_namespace))
        if current is not None:
            await asyncio.to_thread(_write_status, memo, notifier_namespace, notifier, state,
                                    (current.get("status") or {}).get("conditions"))
    except Exception as err:  # noqa: BLE001 - a status write must not stop the dispatcher
        log.warning("status of ParityNotifier %s/%s not written: %s", notifier_namespace, notifier, err)


@kopf.on.cleanup()
async def close_dispatcher(memo: kopf.Memo, **_) -> None:
    dispatcher = getattr(memo, "notify_dispatcher", None)
    if dispatcher is not None:
        await dispatcher.close()
        memo.notify_dispatcher = None
