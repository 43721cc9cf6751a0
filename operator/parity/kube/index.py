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
  and syncs that may write children for a changed spec read with LIST from the start
  (handlers/environment.reads_with_list): a lagging hash must not make an apply look unnecessary;
- children deleted while a watch was down (410 Gone, then a new listing) are never announced:
  an environment with a listing event is read once with LIST and those ghosts are left out
  (IndexedChildren.suspect);
- any other stale view is corrected by the next event: kopf updates its indexes before it calls
  the on.event handlers for the same event (kopf/_core/reactor/processing.py,
  process_resource_event: `indexing.index_resource(...)` precedes `process_resource_causes`),
  and each child event asks for a (coalesced) sync that reads the index after that update.

The credentials Secret is the one child no watch delivers, so it stays a GET, but not one per
sync: a Secret read is kept for CREDENTIALS_REREAD_SECONDS. While an environment converges, each
of its children's events makes a sync (a dozen in its first half-minute), and the Secret, which
the operator writes once and never changes, was a GET in every one of them (14 per environment
on average, N=40, bench/bench_scale.py). A Secret edited or deleted by someone is therefore seen
that much later; no event would have announced it anyway, only the next sync. A Secret not found
is never kept: the sync that finds it missing must see it the moment it exists. After a sync
that wrote children or read with LIST (`forget_credentials`), the next one reads it again.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable, Iterable

from parity.kube.children import list_children, read_credentials, read_object
from parity.kube.client import Kube
from parity.kube.ownership import is_owned_child
from parity.kube.resources import SECRETS

# (namespace, environment name) -> the indexed children's bodies, the caller's own copies (it may
# change them), or None when the index cannot answer (not running, not listed yet): then the
# reader asks the API server.
Snapshot = Callable[[str, str], "list[dict] | None"]

# How long a credentials Secret read is used instead of another GET (see above).
CREDENTIALS_REREAD_SECONDS = 30.0


class IndexedChildren:
    """A kube.children.ChildReader served from a watch-fed index, falling back to LIST.

    Ghosts: after a watch resumes with 410 Gone, kopf lists the kind again and re-indexes what
    it finds, but an object deleted while the stream was down is never announced, so the index
    keeps it. An environment with such news (`suspect`, called for a listing event) is read
    once with LIST; what the index holds and the LIST does not is gone, and is left out of that
    environment's answers from then on (by uid, which is never reused)."""

    def __init__(self, snapshot: Snapshot, *, clock: Callable[[], float] = time.monotonic,
                 credentials_reread_seconds: float = CREDENTIALS_REREAD_SECONDS) -> None:
        self._snapshot = snapshot
        self._clock = clock
        self._reread = credentials_reread_seconds
        self._guard = threading.Lock()
        self._suspect: set[tuple[str, str]] = set()
        self._ghosts: dict[tuple[str, str], frozenset[str]] = {}
        # (namespace, environment) -> {secret name: (when read, body)}
        self._secrets: dict[tuple[str, str], dict[str, tuple[float, dict]]] = {}

    def suspect(self, namespace: str, env_name: str) -> None:
        """The index may hold deleted children of this environment: the next read LISTs."""
        with self._guard:
            self._suspect.add((namespace, env_name))

    def forget_credentials(self, namespace: str, env_name: str) -> None:
        """A sync of this environment wrote children (the Secret among them, perhaps), or read
        them with LIST (which may have found the Secret gone): the next sync reads the Secret
        again rather than trust a kept copy."""
        with self._guard:
            self._secrets.pop((namespace, env_name), None)

    def forget(self, namespace: str, env_name: str) -> None:
        with self._guard:
            self._suspect.discard((namespace, env_name))
            self._ghosts.pop((namespace, env_name), None)
            self._secrets.pop((namespace, env_name), None)

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
            self.forget_credentials(namespace, env_name)
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
        return children + read_credentials(kube, namespace, env_name, env_uid, secret_names,
                                           read_secret=functools.partial(self._read_secret, env_name))

    def _read_secret(self, env_name: str, kube: Kube, namespace: str, name: str) -> dict | None:
        """A GET of the environment's Secret, or the copy kept from one less than the re-read
        period ago. (read_credentials checks ownership on every answer, kept or read.)"""
        key = (namespace, env_name)
        now = self._clock()
        with self._guard:
            kept = self._secrets.get(key, {}).get(name)
        if kept is not None and now - kept[0] < self._reread:
            return copy.deepcopy(kept[1])
        secret = read_object(kube, SECRETS, namespace, name)
        with self._guard:
            if secret is None:
                self._secrets.get(key, {}).pop(name, None)
            else:
                self._secrets.setdefault(key, {})[name] = (now, copy.deepcopy(secret))
        return secret
