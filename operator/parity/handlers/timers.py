"""The periodic pass: readiness and the runtime level (actuation, then probes), which no watch
event announces."""

from __future__ import annotations

import asyncio

import kopf

from parity import constants, metrics
from parity.handlers.common import refresh_runtime, request_sync, run_sync
from parity.handlers.config import OperatorConfig

ENV = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.ENVIRONMENT_PLURAL)
INTERVAL = OperatorConfig.from_env().resync_seconds


@kopf.timer(**ENV, interval=INTERVAL, initial_delay=INTERVAL / 2, idle=10, sharp=False)
async def resync_environment(namespace: str, name: str, meta: kopf.Meta, spec: kopf.Spec, memo: kopf.Memo,
                             logger, **_) -> None:
    # Never in kopf's thread pool: that pool runs the create and update handlers, and with 500
    # environments a resync period's timers queued in it held a spec edit back for 15 s
    # (bench/bench_scale.py --envs 500). Without probes the pass is an event-driven sync, asked
    # for here and run on memo.sync_pool, unless it would read what the last sync read or comes
    # before the environment's first sync (handlers/quiet.py); the probes' pass blocks for
    # seconds, so it runs in a thread of asyncio's own pool, as a sync that runs after it.
    if not memo.config.runtime_probes:
        key = (namespace, name)
        if not memo.triggers.knows(key):
            # Its create or resume handler has not run yet: that sync does the first full read.
            metrics.TIMER_PASSES_SKIPPED.inc()
            return
        # kopf's body for a timer is live: updated by every event of the environment.
        fingerprint = memo.inputs_fingerprint(namespace, name, meta.get("resourceVersion"),
                                              (spec.get("baselineRef") or {}).get("name"))
        if memo.quiet_passes.skips(key, fingerprint):
            metrics.TIMER_PASSES_SKIPPED.inc()
            return
        request_sync(memo, namespace, name, trigger="timer")
        return

    def probe_then_sync() -> None:
        refresh_runtime(memo, namespace, name, logger)
        run_sync(memo, namespace, name, trigger="timer", apply_changes=False, coalesce=True)

    await asyncio.to_thread(probe_then_sync)
