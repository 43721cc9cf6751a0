"""The periodic pass: readiness and the runtime level (actuation, then probes), which no watch
event announces."""

from __future__ import annotations

import kopf

from parity import constants
from parity.handlers.common import refresh_runtime, run_sync
from parity.handlers.config import OperatorConfig

ENV = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.ENVIRONMENT_PLURAL)
INTERVAL = OperatorConfig.from_env().resync_seconds


@kopf.timer(**ENV, interval=INTERVAL, initial_delay=INTERVAL / 2, idle=10, sharp=False)
def resync_environment(namespace: str, name: str, body: kopf.Body, memo: kopf.Memo, logger, **_) -> None:
    if memo.config.runtime_probes:
        refresh_runtime(memo, namespace, name, logger)
    run_sync(memo, namespace, name, trigger="timer", apply_changes=False, coalesce=True)
