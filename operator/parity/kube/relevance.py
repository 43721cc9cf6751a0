"""What of a child a sync reads, as one number: events that change nothing of it change no status.

While an environment converges, most events of its children are the controllers' bookkeeping:
a PodDisruptionBudget's status is rewritten whenever a pod of it changes (75 events per
environment at N=100, bench/bench_scale.py), a StatefulSet's whenever a member is created,
started, becomes available. Each event asked for a sync (coalesced and spaced, but a sync: a GET
of the environment, a drift evaluation, often a status write) although the status it computes
reads none of those fields.

A sync reads of a child (reconcile.py):
- everything but its status, for the live level of drift and for ownership (drift/live.py
  compares spec, data, labels and annotations, and uses managedFields to say who changed a field;
  kube/ownership.py reads the owner references);
- of a workload's status, what status.summarize_components reads through `_workload_counts`:
  WORKLOAD_STATUS (a unit test holds the two together: test_child_relevance.py).

Left out: `resourceVersion`, the `time` of each managedFields entry, and the managedFields entry
of the status subresource (a controller's status write updates both; drift/live.py ignores
status fields), and all of `status` but WORKLOAD_STATUS of a workload.
"""

from __future__ import annotations

import json
from typing import Any

WORKLOAD_KINDS = frozenset({"StatefulSet", "Deployment"})
WORKLOAD_STATUS = ("observedGeneration", "readyReplicas", "updatedReplicas", "currentRevision", "updateRevision")


def read_by_a_sync(body: dict[str, Any]) -> dict[str, Any]:
    """The part of a child's body a sync's verdict depends on (a new dict; `body` is not changed)."""
    meta = dict(body.get("metadata") or {})
    meta.pop("resourceVersion", None)
    if "managedFields" in meta:
        meta["managedFields"] = [{k: v for k, v in entry.items() if k != "time"}
                                 for entry in meta["managedFields"] or []
                                 if isinstance(entry, dict) and entry.get("subresource") != "status"]
    relevant = {k: v for k, v in body.items() if k not in ("metadata", "status")}
    relevant["metadata"] = meta
    if body.get("kind") in WORKLOAD_KINDS:
        status = body.get("status") or {}
        relevant["status"] = {k: status.get(k) for k in WORKLOAD_STATUS}
    return relevant


def sync_digest(body: dict[str, Any]) -> int:
    """read_by_a_sync as one number. The API server sends an object's fields in a stable order,
    so the same content gives the same digest; were it ever not so, the cost is one sync more."""
    return hash(json.dumps(read_by_a_sync(body), separators=(",", ":"), default=str))
