"""ParityEnvironment: one reconcile for create, update and resume; cleanup of our own state on delete."""

from __future__ import annotations

import kopf

from parity import constants, metrics
from parity.handlers.common import refresh_runtime, run_sync

ENV = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.ENVIRONMENT_PLURAL)


@kopf.on.resume(**ENV, retries=20, backoff=5, timeout=600)
@kopf.on.create(**ENV, retries=20, backoff=5, timeout=600)
@kopf.on.update(**ENV, retries=20, backoff=5, timeout=600)
def reconcile_environment(namespace: str, name: str, reason: str, memo: kopf.Memo, logger,
                          meta: kopf.Meta | None = None, **_) -> None:
    run_sync(memo, namespace, name, trigger="environment", apply_changes=True,
             fresh=reads_with_list(reason, (meta or {}).get("generation")), logger=logger)
    if reason == "update" and memo.config.runtime_probes:
        # A changed setting reaches the running services now, not at the next timer pass.
        refresh_runtime(memo, namespace, name, logger)
        run_sync(memo, namespace, name, trigger="environment", apply_changes=False, coalesce=True, logger=logger)


def reads_with_list(reason: str, generation: int | None) -> bool:
    """Whether a handler's sync reads the children with LIST instead of the watch-fed index.

    The danger of an index is a lagging hash: after this process applied spec B over A, an
    index still showing A's children would make a return to A look applied already. A resume
    reads the index (it was listed after this process started, so it holds every earlier
    write), and so does the create of generation 1: no other spec of that object was ever
    applied, so a lagging index can only lack a child (looked up by name before it is called
    missing: kube/children.resolve_missing) or show an older write of the same spec (applied
    again, no harm). That saves a LIST per child kind for every environment created. An update,
    or a create retried after the spec changed, reads with LIST."""
    return not (reason == "resume" or (reason == "create" and generation == 1))


@kopf.on.delete(**ENV, optional=True)
def forget_environment(namespace: str, name: str, memo: kopf.Memo, **_) -> None:
    # Children go with the owner through garbage collection; we only drop our own bookkeeping.
    # Under the environment's lock: a sync still running would otherwise record its metric
    # series again after they were removed (later syncs see the deletion and stop).
    memo.triggers.run((namespace, name), lambda: metrics.forget_environment(namespace, name))
    memo.triggers.forget((namespace, name))
    memo.quiet_passes.forget((namespace, name))
    memo.runtime.pop((namespace, name), None)
    memo.actuation.pop((namespace, name), None)
    memo.policy_reports.forget(namespace, name)
    if hasattr(memo, "children"):
        memo.children.forget(namespace, name)


@kopf.index(**ENV)
async def environments_by_baseline(namespace: str, name: str, spec: kopf.Spec, **_):
    """baseline name -> (namespace, name) of every environment that compares with it."""
    # async: kopf indexes every event of an environment (each status write is one) before its
    # other handlers, and a sync index handler waits for a thread of kopf's pool, where the
    # create and update syncs run for seconds each. With 100 environments created at once,
    # their status events queued behind those: ~5 parsed bodies per environment held for the
    # whole convergence (bench/bench_scale.py, N=100: 490 queued events, all of this kind).
    ref = (spec.get("baselineRef") or {}).get("name")
    return {ref: (namespace, name)} if ref else None
