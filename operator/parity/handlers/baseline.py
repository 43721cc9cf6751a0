"""ParityBaseline: when one changes, every environment that uses it is re-evaluated (via the index)."""

from __future__ import annotations

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
    for namespace, env_name in list(environments_by_baseline.get(name, [])):
        try:
            run_sync(memo, namespace, env_name, trigger="baseline", apply_changes=False, coalesce=True)
        except kopf.TemporaryError as err:  # one unreachable environment must not block the others
            logger.warning("re-evaluating %s/%s after baseline %s changed: %s", namespace, env_name, name, err)
