"""One environment's children from the operator's watch-fed index instead of a LIST per kind.

A sync used to cost one LIST per child kind (8) on every trigger: every child event, every
timer pass, every baseline edit. The operator already watches those kinds (with the same label
selector, handlers/children.py), so it keeps what the watches deliver in an index keyed by
(namespace, environment) (handlers/index.py) and a sync reads from memory. What stays a
request: the environment itself, the credentials Secret (by name; Secrets are not watched) and
the baseline, so a sync costs O(1) reads whatever the number of children.

An index lags the API server, above all behind the operator's own writes. The places where
that matters are handled where the decision is made, not here:
- a desired child missing from the index is looked up by name before it is called missing or
  a foreign name conflict (kube/children.resolve_missing);
- a pruned child that is already gone is a 404, which delete_object ignores;
- after its own writes a sync reads with LIST (reconcile.py), and syncs that may write children
  for a new spec read with LIST from the start (handlers/environment.py): a lagging hash must not
  make an apply look unnecessary;
- any other stale view is corrected by the next event: kopf updates its indexes before it calls
  the on.event handlers for the same event (kopf/_core/reactor/processing.py,
  process_resource_event: `indexing.index_resource(...)` precedes `process_resource_causes`),
  and each child event asks for a (coalesced) sync that reads the index after that update.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from parity.kube.children import list_children, read_credentials
from parity.kube.client import Kube
from parity.kube.ownership import is_owned_child

# (namespace, environment name) -> the indexed children's bodies, or None when the index cannot
# answer (not running, not listed yet): then the reader asks the API server.
Snapshot = Callable[[str, str], "list[dict] | None"]


class IndexedChildren:
    """A kube.children.ChildReader served from a watch-fed index, falling back to LIST."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __call__(self, kube: Kube, namespace: str, env_name: str, env_uid: str, *,
                 secret_names: Iterable[str] = ()) -> list[dict]:
        indexed = self._snapshot(namespace, env_name)
        if indexed is None:
            return list_children(kube, namespace, env_name, env_uid, secret_names=secret_names)
        # The label is only a pointer (kube/ownership.py): the uid decides, as for a LIST. Copies,
        # because the index's bodies are shared with the watch and later syncs.
        children = [copy.deepcopy(o) for o in indexed if is_owned_child(o, env_name, env_uid)]
        return children + read_credentials(kube, namespace, env_name, env_uid, secret_names)
