"""One environment's children from the operator's watch-fed index instead of a LIST per kind.

A sync used to cost one LIST per child kind (8) on every trigger: every child event, every
timer pass, every baseline edit. The operator already watches those kinds (with the same label
selector, handlers/children.py), so it keeps what the watches deliver in an index keyed by
(namespace, environment) (handlers/index.py) and a sync reads from memory. What stays a
request: the environment itself, the credentials Secret (by name; Secrets are not watched) and
the baseline, so a sync costs O(1) reads whatever the number of children.

An index lags the API server, above all behind the operator's own writes. The places where
that matters are handled where the decision is made, not here:
- a desired child missing from the index is looked up before it is called missing or a
  foreign name conflict (kube/children.resolve_missing);
- a pruned child that is already gone is a 404, which delete_object ignores;
- after its own writes a sync takes the API server's answers to them (kube.children.after_writes),
  and syncs that may write children for a new spec read with LIST from the start
  (handlers/environment.py): a lagging hash must not make an apply look unnecessary;
- children deleted while a watch was down (410 Gone, then a new listing) are never announced:
  an environment with a listing event is read once with LIST and those ghosts are left out
  (IndexedChildren.suspect);
- any other stale view is corrected by the next event: kopf updates its indexes before it calls
  the on.event handlers for the same event (kopf/_core/reactor/processing.py,
  process_resource_event: `indexing.index_resource(...)` precedes `process_resource_causes`),
  and each child event asks for a (coalesced) sync that reads the index after that update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from parity.kube.children import list_children, read_credentials
from parity.kube.client import Kube
from parity.kube.ownership import is_owned_child

# (namespace, environment name) -> the indexed children's bodies, the caller's own copies (it may
# change them), or None when the index cannot answer (not running, not listed yet): then the
# reader asks the API server.
Snapshot = Callable[[str, str], "list[dict] | None"]


class IndexedChildren:
    """A kube.children.ChildReader served from a watch-fed index, falling back to LIST.

    Ghosts: after a watch resumes with 410 Gone, kopf lists the kind again and re-indexes what
    it finds, but an object deleted while the stream was down is never announced, so the index
    keeps it. An environment with such news (`suspect`, called for a listing event) is read
    once with LIST; what the index holds and the LIST does not is gone, and is left out of that
    environment's answers from then on (by uid, which is never reused)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._guard = threading.Lock()
        self._suspect: set[tuple[str, str]] = set()
        self._ghosts: dict[tuple[str, str], frozenset[str]] = {}

    def suspect(self, namespace: str, env_name: str) -> None:
        """The index may hold deleted children of this environment: the next read LISTs."""
        with self._guard:
            self._suspect.add((namespace, env_name))

    def forget(self, namespace: str, env_name: str) -> None:
        with self._guard:
            self._suspect.discard((namespace, env_name))
            self._ghosts.pop((namespace, env_name), None)

    def __call__(self, kube: Kube, namespace: str, env_name: str, env_uid: str, *,
                 secret_names: Iterable[str] = ()) -> list[dict]:
        key = (namespace, env_name)
        # Taken before any LIST: what it has and a later LIST lacks was deleted in between.
        indexed = self._snapshot(namespace, env_name)
        with self._guard:
            verify = key in self._suspect
            self._suspect.discard(key)
            ghosts = self._ghosts.get(key, frozenset())
        if indexed is None or verify:
            listed = list_children(kube, namespace, env_name, env_uid, secret_names=secret_names)
            if indexed is not None:
                found = {o["metadata"].get("uid") for o in listed}
                gone = frozenset(o["metadata"].get("uid") for o in indexed
                                 if is_owned_child(o, env_name, env_uid) and o["metadata"].get("uid") not in found)
                with self._guard:
                    if gone:
                        self._ghosts[key] = gone
                    else:
                        self._ghosts.pop(key, None)
            return listed
        # The label is only a pointer (kube/ownership.py): the uid decides, as for a LIST.
        children = [o for o in indexed
                    if o["metadata"].get("uid") not in ghosts and is_owned_child(o, env_name, env_uid)]
        return children + read_credentials(kube, namespace, env_name, env_uid, secret_names)
