"""Owned children: any change to one that a sync reads (a kubectl edit, a pod becoming ready; not
a controller's status bookkeeping: kube/relevance.py) re-evaluates its environment's status and
drift; with the enforce policy the sync also reverts live drift.

What is watched, and why it stays small:
- Each watch carries a label selector that the API server applies (`configure_child_watches`,
  called from the start-up handler): only objects labelled as a parity environment's child
  reach the operator, not every ConfigMap or Service in the cluster. kopf's `labels=` on a
  handler alone would filter after the whole stream has arrived.
- Secrets are not watched at all. The only Secret the operator has is the credentials Secret,
  which it creates once and never changes; a missing one is found by the next sync (the timer
  resyncs every environment), and watching would need `list`/`watch` on every Secret of the
  cluster, which RBAC cannot narrow by label.
- An event is acted on only when the object's controller is a ParityEnvironment; whether it
  is really that environment's own child is decided by the sync (kube/ownership.py).
"""

from __future__ import annotations

import kopf

from parity import constants
from parity.handlers.common import request_sync
from parity.kube.ownership import is_controlled_by_an_environment

OWNED = {constants.LABEL_MANAGED_BY: constants.MANAGED_BY, constants.LABEL_ENVIRONMENT: kopf.PRESENT}
# The server-side form of OWNED.
CHILD_SELECTOR = f"{constants.LABEL_MANAGED_BY}={constants.MANAGED_BY},{constants.LABEL_ENVIRONMENT}"
CHILD_KINDS = (
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("", "v1", "configmaps"),
    ("", "v1", "serviceaccounts"),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("networking.k8s.io", "v1", "networkpolicies"),
)


def configure_child_watches(settings: kopf.OperatorSettings) -> None:
    """Put CHILD_SELECTOR on the list and watch requests of every child kind."""
    for group, version, plural in CHILD_KINDS:
        settings.watching.label_selectors[group, version, plural] = CHILD_SELECTOR


def controlled_by_an_environment(body: kopf.Body, **_) -> bool:
    return is_controlled_by_an_environment(dict(body))


async def child_changed(namespace: str, labels: kopf.Labels, type: str | None, memo: kopf.Memo, **_) -> None:
    # async, and quick: the sync is requested, not waited for (common.request_sync says why).
    env_name = labels.get(constants.LABEL_ENVIRONMENT)
    if not env_name:
        return
    if type is None and not memo.triggers.knows((namespace, env_name)):
        # A listing, not a change. At start-up, environments resume on their own. But kopf also
        # lists again when a watch resumes with 410 Gone (the API server restarted, or the
        # revision it resumed from was compacted): a change made while the stream was down
        # arrives only as such a listing, so an environment this process has already synced
        # is synced again (coalesced: a listing of all its children makes one sync).
        return
    if type is None:
        if hasattr(memo, "children"):
            # Children deleted while the stream was down are not in the listing, but still in
            # the index: this sync reads with LIST and leaves them out from then on (kube/index.py).
            memo.children.suspect(namespace, env_name)
    elif _nothing_a_sync_reads_changed(memo, namespace, env_name):
        return
    request_sync(memo, namespace, env_name, trigger="child")


def _nothing_a_sync_reads_changed(memo: kopf.Memo, namespace: str, env_name: str) -> bool:
    """Whether the environment's children, as far as a sync reads them (kube/relevance.py), are
    what its newest requested sync started with: then that sync reads this event's change or
    a newer one, and it changes nothing a sync reads (a PodDisruptionBudget's status, a
    StatefulSet's availableReplicas). kopf updated the index before calling this handler."""
    fingerprints = getattr(memo, "inputs_fingerprint", None)
    if fingerprints is None:
        return False
    key = (namespace, env_name)
    return memo.quiet_passes.read_by_a_sync(key, fingerprints.children(namespace, env_name))


for _group, _version, _plural in CHILD_KINDS:
    kopf.on.event(group=_group, version=_version, plural=_plural, labels=OWNED, when=controlled_by_an_environment,
                  id=f"child-{_plural}")(child_changed)
