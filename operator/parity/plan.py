"""The transition planner: what a sync may do to the live children, decided before anything is
written.

Pure: the desired children (rendered from the new spec) and the live ones go in, a Plan comes
out. Every desired child that is missing or whose desired hash differs from the live one is
classified:

- create: it does not exist yet;
- apply:  the API server takes the change in place and no pod restarts;
- roll:   the pod template of a StatefulSet or Deployment changes, so its pods are replaced;
- refuse: the API server would refuse the change (an immutable field, such as a StatefulSet's
          volumeClaimTemplates), or the running data cannot follow it (etcd member count,
          PostgreSQL major version on existing data directories).

A plan with a refusal is applied not at all: the sync writes `Stalled=True` with the refusal's
reason and a message that says what changed, why it is refused and how to get out, and leaves
every child as it is. A write the API server refuses anyway (any other 4xx) ends the same way
(`refusal_for_write`), and later read-only syncs keep saying so (`carried_write_refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity import constants
from parity.constants import LABEL_VERSION
from parity.drift.normalize import parse_quantity
from parity.render import etcd as etcd_render
from parity.render import postgres as postgres_render

CREATE, APPLY, ROLL, REFUSE = "create", "apply", "roll", "refuse"

REASON_ETCD_SCALING = "EtcdScalingRefused"
REASON_STORAGE = "StorageChangeRefused"
REASON_POSTGRES_MAJOR = "PostgresMajorChangeRefused"
REASON_IMMUTABLE = "ImmutableFieldRefused"
REASON_WRITE = "WriteRefused"
# 4xx answers that are not a verdict on the object (gone, conflict, throttled): retried, as
# handlers/common.py does for every request.
TRANSIENT_CLIENT_ERRORS = (404, 409, 429)

# Fields the API server refuses to change on an existing object. A StatefulSet may change only
# replicas, template, updateStrategy, ordinals, minReadySeconds, revisionHistoryLimit and
# persistentVolumeClaimRetentionPolicy; a Deployment's selector, a Service's clusterIP and a
# RoleBinding's roleRef are fixed at creation.
IMMUTABLE_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "StatefulSet": (("spec", "selector"), ("spec", "serviceName"), ("spec", "podManagementPolicy"),
                    ("spec", "volumeClaimTemplates")),
    "Deployment": (("spec", "selector"),),
    "Service": (("spec", "clusterIP"),),
    "RoleBinding": (("roleRef",),),
}
POD_OWNERS = ("StatefulSet", "Deployment")


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # create | apply | roll | refuse


@dataclass(frozen=True)
class Refusal:
    reason: str  # CamelCase, the Stalled condition's reason
    message: str  # what changed, why it cannot, what to do


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def reason(self) -> str:
        reasons = {r.reason for r in self.refusals}
        return self.refusals[0].reason if len(reasons) == 1 else "ChangesRefused"

    @property
    def message(self) -> str:
        return "; ".join(r.message for r in self.refusals)

    def names(self, action: str) -> list[str]:
        return [f"{c.kind}/{c.name}" for c in self.changes if c.action == action]


def plan_changes(desired: list[dict], live: list[dict], *, env_name: str, hash_annotation: str,
                 previous_status: dict | None = None, generation: int | None = None,
                 may_write: bool = True) -> Plan:
    """Classify every pending change of `desired` against `live` (see the module docstring).
    `previous_status` and `generation` let a read-only sync (`may_write=False`) keep a write
    refusal that the spec has not been changed since."""
    live_by_key = {_key(o): o for o in live}
    changes: list[Change] = []
    refusals: list[Refusal] = []
    for manifest in desired:
        current = live_by_key.get(_key(manifest))
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        if current is None:
            changes.append(Change(kind, name, CREATE))
            continue
        if _annotation(current, hash_annotation) == _annotation(manifest, hash_annotation):
            continue
        found = _refusals(manifest, current, env_name)
        if found:
            refusals.extend(found)
            changes.append(Change(kind, name, REFUSE))
        elif kind in POD_OWNERS and not contains(_get(current, ("spec", "template")),
                                                 _get(manifest, ("spec", "template"))):
            changes.append(Change(kind, name, ROLL))
        else:
            changes.append(Change(kind, name, APPLY))
    if not refusals and not may_write and changes:
        carried = carried_write_refusal(previous_status or {}, generation)
        if carried is not None:
            refusals.append(carried)
    return Plan(tuple(changes), tuple(refusals))


def is_refused_write(status: int) -> bool:
    """A 4xx answer to a write that retrying will not change (invalid, forbidden, bad request)."""
    return 400 <= status < 500 and status not in TRANSIENT_CLIENT_ERRORS


def refusal_for_write(kind: str, name: str, action: str, error: str) -> Refusal:
    return Refusal(REASON_WRITE, (
        f"the API server refused to {action} {kind} {name}: {error}; nothing further was applied: "
        "undo the last change of the spec, or change what the message names"))


def carried_write_refusal(previous_status: dict, generation: int | None) -> Refusal | None:
    """The write refusal recorded for this very generation, if any: a sync that may not write
    has not retried it, so the environment is still stuck for the same reason."""
    stalled = {c.get("type"): c for c in previous_status.get("conditions") or []}.get(constants.CONDITION_STALLED)
    if (stalled and stalled.get("status") == "True" and stalled.get("reason") == REASON_WRITE
            and generation is not None and stalled.get("observedGeneration") == generation):
        return Refusal(REASON_WRITE, stalled.get("message", ""))
    return None


# --- what is refused ---------------------------------------------------------------------------


def _refusals(desired: dict, live: dict, env_name: str) -> list[Refusal]:
    kind, name = desired["kind"], desired["metadata"]["name"]
    found: list[Refusal] = []
    if kind == "StatefulSet" and name == etcd_render.statefulset_name(env_name):
        found += _etcd_membership(desired, live)
    if kind == "StatefulSet" and name == postgres_render.statefulset_name(env_name):
        found += _postgres_major(desired, live)
        found += _postgres_storage(desired, live)
        checked = {("spec", "volumeClaimTemplates")}
    else:
        checked = set()
    for path in IMMUTABLE_FIELDS.get(kind, ()):
        if path in checked:
            continue
        wanted, current = _get(desired, path), _get(live, path)
        if wanted is not None and not contains(current, wanted):
            field = ".".join(path)
            found.append(Refusal(REASON_IMMUTABLE, (
                f"{kind} {name}: {field} would change from {_show(current)} to {_show(wanted)}, which the API server "
                f"refuses for an existing {kind}: delete and re-create the environment to get the new {field}")))
    return found


def _etcd_membership(desired: dict, live: dict) -> list[Refusal]:
    """A new member started from the initial-cluster flags would form a second cluster (split
    brain), and removing one without `etcdctl member remove` leaves a quorum that counts a
    ghost; so the member count the cluster was bootstrapped with (its live initial-cluster
    list) is kept."""
    before = _member_count(live)
    after = _member_count(desired)
    if before is None or after is None or before == after:
        return []
    return [Refusal(REASON_ETCD_SCALING, (
        f"spec.etcd.replicas changed from {before} to {after}, but etcd membership is not changed in place "
        f"(a new member would start a second cluster): set spec.etcd.replicas back to {before}, "
        "or delete and re-create the environment to get a new etcd cluster"))]


def _postgres_version(obj: dict) -> str | None:
    # The StatefulSet carries the major it was rendered for as its version label.
    return ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_VERSION)


def _postgres_major(desired: dict, live: dict) -> list[Refusal]:
    before, after = _postgres_version(live), _postgres_version(desired)
    if before is None or after is None or before == after:
        return []
    name = desired["metadata"]["name"]
    return [Refusal(REASON_POSTGRES_MAJOR, (
        f"spec.postgres.version changed from {before} to {after}, but the data directories of StatefulSet {name} "
        f"were initialised by PostgreSQL {before}, and PostgreSQL {after} cannot start on them: set "
        f"spec.postgres.version back to {before}; to move to {after}, dump the databases (pg_dumpall) and "
        f"restore them into a new environment with version {after}"))]


def _postgres_storage(desired: dict, live: dict) -> list[Refusal]:
    """Size and class of the data volumes, named by the spec fields they come from; any other
    change of the claim templates in general terms."""
    name = desired["metadata"]["name"]
    wanted, current = _claims(desired), _claims(live)
    found = []
    for claim in wanted.keys() & current.keys():
        after, before = wanted[claim].get("spec") or {}, current[claim].get("spec") or {}
        size_before, size_after = _storage(before), _storage(after)
        if size_after is not None and not _same_scalar(size_before, size_after):
            found.append(_storage_refusal(name, "size", size_before, size_after))
        class_before, class_after = before.get("storageClassName"), after.get("storageClassName")
        if class_before != class_after:
            found.append(_storage_refusal(name, "storageClassName", class_before or "the cluster default",
                                          class_after or "the cluster default"))
    rest_changed = any(not contains(current[claim], _without_storage(wanted[claim]))
                       for claim in wanted.keys() & current.keys())
    if wanted.keys() != current.keys() or rest_changed:
        found.append(Refusal(REASON_IMMUTABLE, (
            f"StatefulSet {name}: spec.volumeClaimTemplates would change, which the API server refuses for an "
            "existing StatefulSet: delete and re-create the environment to get the new volumes")))
    return found


def _storage_refusal(statefulset: str, field: str, before: Any, after: Any) -> Refusal:
    return Refusal(REASON_STORAGE, (
        f"spec.postgres.storage.{field} changed from {before} to {after}, but StatefulSet {statefulset} cannot "
        f"change its volume claim templates (the API server refuses it): set spec.postgres.storage.{field} "
        f"back to {before}, or delete and re-create the environment to get new volumes (PostgreSQL's data "
        "is lost with them)"))


# --- reading manifests -------------------------------------------------------------------------


def contains(live: Any, desired: Any) -> bool:
    """Whether `live` holds everything `desired` says: mappings by key (live may have more, e.g.
    server defaults), lists item by item, scalars equal (quantities by value: 1024Mi is 1Gi)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            value is None or contains(live.get(key), value) for key, value in desired.items())
    if isinstance(desired, list):
        return (isinstance(live, list) and len(live) == len(desired)
                and all(contains(a, b) for a, b in zip(live, desired)))
    return _same_scalar(live, desired)


def _same_scalar(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        qa, qb = parse_quantity(a), parse_quantity(b)
        return qa is not None and qa == qb
    return False


def _key(obj: dict) -> tuple[str, str]:
    return obj.get("kind", ""), obj["metadata"]["name"]


def _annotation(obj: dict, key: str) -> str | None:
    return (obj.get("metadata", {}).get("annotations") or {}).get(key)


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _show(value: Any) -> str:
    return "nothing" if value is None else repr(value)


def _containers(statefulset: dict) -> list[dict]:
    return _get(statefulset, ("spec", "template", "spec", "containers")) or []


def _env_value(statefulset: dict, variable: str) -> str | None:
    for container in _containers(statefulset):
        for env in container.get("env") or []:
            if env.get("name") == variable and "value" in env:
                return env["value"]
    return None


def _member_count(statefulset: dict) -> int | None:
    initial = _env_value(statefulset, "ETCD_INITIAL_CLUSTER")
    return len([m for m in initial.split(",") if m]) if initial else None


def _claims(statefulset: dict) -> dict[str, dict]:
    templates = _get(statefulset, ("spec", "volumeClaimTemplates")) or []
    return {t.get("metadata", {}).get("name", ""): t for t in templates}


def _without_storage(template: dict) -> dict:
    """A claim template without its size and class (compared on their own)."""
    spec = dict(template.get("spec") or {})
    spec.pop("storageClassName", None)
    resources = dict(spec.get("resources") or {})
    resources["requests"] = {k: v for k, v in (resources.get("requests") or {}).items() if k != "storage"}
    spec["resources"] = resources
    return {**template, "spec": spec}


def _storage(claim_spec: dict) -> str | None:
    return _get(claim_spec, ("resources", "requests", "storage"))
