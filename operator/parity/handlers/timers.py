"""The periodic pass: readiness and the runtime level, which no watch event announces."""

from __future__ import annotations

import kopf

from parity import constants
from parity.handlers.common import run_sync
from parity.handlers.config import OperatorConfig
from parity.runtime import collect_runtime

ENV = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.ENVIRONMENT_PLURAL)
INTERVAL = OperatorConfig.from_env().resync_seconds


@kopf.timer(**ENV, interval=INTERVAL, initial_delay=INTERVAL / 2, idle=10, sharp=False)
def resync_environment(namespace: str, name: str, body: kopf.Body, memo: kopf.Memo, logger, **_) -> None:
    key = (namespace, name)
    if memo.config.runtime_probes:
        memo.runtime[key] = collect_runtime(memo.kube, body, endpoint_map=memo.config.endpoint_map, logger=logger)
    run_sync(memo, namespace, name, trigger="timer", apply_changes=False, coalesce=True)
