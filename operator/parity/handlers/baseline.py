"""ParityBaseline: when one changes, every environment that uses it is re-evaluated (via the index).

The environments are synced side by side on the fan-out pool (memo.fan_out, made at start-up)
and without the settle wait: a baseline edit is one event per environment, not a burst to
collapse, and one by one with a settle each, 500 environments took minutes.
"""

from __future__ import annotations

import concurrent.futures
import contextvars

import kopf

from parity import constants
from parity.handlers.common import run_sync

BASELINE = dict(group=constants.GROUP, version=constants.VERSION, plural=constants.BASELINE_PLURAL)


@kopf.on.event(**BASELINE)
def baseline_changed(name: str, type: str | None, memo: kopf.Memo, environments_by_baseline: kopf.Index,
                     logger, **_) -> None:
    # type None is the initial listing: environments are resumed on their own at start-up.
    if type is None:
        return
    # Each in a copy of this handler's context: kopf.event finds its queue there (kopf copies the
    # context into its own threads, a plain pool does not). One copy each: a context can be
    # entered by one thread at a time.
    syncs = {memo.fan_out.submit(contextvars.copy_context().run, run_sync, memo, namespace, env_name,
                                 trigger="baseline", apply_changes=False, coalesce=True, settle=0.0):
             (namespace, env_name)
             for namespace, env_name in list(environments_by_baseline.get(name, []))}
    for done in concurrent.futures.as_completed(syncs):
        try:
            done.result()
        except (kopf.TemporaryError, kopf.PermanentError) as err:  # one environment must not stop the others
            logger.warning("re-evaluating %s/%s after baseline %s changed: %s", *syncs[done], name, err)
