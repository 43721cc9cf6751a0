"""ParityEnvironment: one reconcile for create, update and resume; cleanup of our own state on delete."""

from __future__ import annotations

import kopf

from parity import constants, metrics
from parity.handlers.common import refresh_runtime, run_sync

ENV = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.ENVIRONMENT_PLURAL)


@kopf.on.resume(**ENV, retries=20, backoff=5, timeout=600)
@kopf.on.create(**ENV, retries=20, backoff=5, timeout=600)
@kopf.on.update(**ENV, retries=20, backoff=5, timeout=600)
def reconcile_environment(namespace: str, name: str, reason: str, memo: kopf.Memo, logger, **_) -> None:
    # Resuming (operator start) reads the index: it was listed after this process started, so it
    # holds every earlier write. A create or update may follow this process's own writes closely.
    run_sync(memo, namespace, name, trigger="environment", apply_changes=True, fresh=reason != "resume",
             logger=logger)
    if reason == "update" and memo.config.runtime_probes:
        # A changed setting reaches the running services now, not at the next timer pass.
        refresh_runtime(memo, namespace, name, logger)
        run_sync(memo, namespace, name, trigger="environment", apply_changes=False, coalesce=True, logger=logger)


@kopf.on.delete(**ENV, optional=True)
def forget_environment(namespace: str, name: str, memo: kopf.Memo, **_) -> None:
    # Children go with the owner through garbage collection; we only drop our own bookkeeping.
    # Under the environment's lock: a sync still running would otherwise record its metric
    # series again after they were removed (later syncs see the deletion and stop).
    memo.triggers.run((namespace, name), lambda: metrics.forget_environment(namespace, name))
    memo.triggers.forget((namespace, name))
    memo.runtime.pop((namespace, name), None)
    memo.actuation.pop((namespace, name), None)
    memo.policy_reports.forget(namespace, name)
    if hasattr(memo, "children"):
        memo.children.forget(namespace, name)


@kopf.index(**ENV)
def environments_by_baseline(namespace: str, name: str, spec: kopf.Spec, **_):
    """baseline name -> (namespace, name) of every environment that compares with it."""
    ref = (spec.get("baselineRef") or {}).get("name")
    return {ref: (namespace, name)} if ref else None
