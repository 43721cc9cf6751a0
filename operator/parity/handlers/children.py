"""Owned children: any change to one (a kubectl edit, a pod becoming ready) re-evaluates its
environment's status and drift; with the enforce policy the sync also reverts live drift."""

from __future__ import annotations

import kopf

from parity import constants
from parity.handlers.common import run_sync

OWNED = {constants.LABEL_MANAGED_BY: constants.MANAGED_BY, constants.LABEL_ENVIRONMENT: kopf.PRESENT}
CHILD_KINDS = (
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("", "v1", "configmaps"),
    ("", "v1", "secrets"),
    ("", "v1", "serviceaccounts"),
    ("rbac.authorization.k8s.io", "v1", "roles"),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"),
    ("policy", "v1", "poddisruptionbudgets"),
)


def child_changed(namespace: str, labels: kopf.Labels, type: str | None, memo: kopf.Memo, **_) -> None:
    if type is None:  # initial listing at start-up: environments resume on their own
        return
    env_name = labels.get(constants.LABEL_ENVIRONMENT)
    if not env_name:
        return
    run_sync(memo, namespace, env_name, trigger="child", apply_changes=False, coalesce=True)


for _group, _version, _plural in CHILD_KINDS:
    kopf.on.event(group=_group, version=_version, plural=_plural, labels=OWNED, id=f"child-{_plural}")(child_changed)
