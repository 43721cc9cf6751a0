"""ParityBaseline: when one changes, every environment that uses it is re-evaluated (via the index).

Each environment's sync is requested from the event loop (handlers/common.request_sync) and runs
on the sync pool, side by side with the others: one by one in this handler's thread, with a
settle wait each, 500 environments took minutes.
"""

from __future__ import annotations

import kopf

from parity import constants
from parity.handlers.common import request_sync

BASELINE = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.BASELINE_PLURAL)


@kopf.on.event(**BASELINE)
async def baseline_changed(name: str, type: str | None, memo: kopf.Memo, environments_by_baseline: kopf.Index,
                           **_) -> None:
    # type None is the initial listing: environments are resumed on their own at start-up.
    if type is None:
        return
    for namespace, env_name in list(environments_by_baseline.get(name, [])):
        request_sync(memo, namespace, env_name, trigger="baseline")
