"""Reads of one environment's children, and the choices that depend on who owns what.

Children are found by their environment label on the server (a cheap, indexed filter) and then
kept only when `ownership.is_owned_child` says they are this environment's. Secrets are never
listed: the operator reads exactly the Secrets it names (its credentials Secret), so its RBAC
needs no `list` on Secrets anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from parity import constants
from parity.kube.client import Kube
from parity.kube.ownership import describe_foreign, is_owned_child, is_retained_credentials
from parity.kube.resources import CHILD_RESOURCES, PERSISTENT_VOLUME_CLAIMS, SECRETS, Resource, resource_for


def object_key(obj: dict) -> tuple[str, str, str]:
    return (obj.get("kind", ""), obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


class ChildReader(Protocol):
    """How a sync finds one environment's children. `list_children` asks the API server (the
    CLI, which has no watches); the operator serves the same answer from its watch-fed index
    (kube/index.py). Either way only `is_owned_child` objects and the named Secrets come back."""

    def __call__(self, kube: Kube, namespace: str, env_name: str, env_uid: str, *,
                 secret_names: Iterable[str] = ()) -> list[dict]: ...


def list_children(kube: Kube, namespace: str, env_name: str, env_uid: str, *, secret_names: Iterable[str] = (),
                  resources: tuple[Resource, ...] = CHILD_RESOURCES) -> list[dict]:
    """Every live child of one environment: labelled for it and controlled by its uid. Of the
    Secrets, only those named in `secret_names` are read, by name; the retained credentials
    Secret (no owner on purpose) counts as a child."""
    selector = f"{constants.LABEL_ENVIRONMENT}={env_name}"
    children = []
    for resource in resources:
        if resource.kind == "Secret":
            continue
        listing = kube.request("GET", resource.collection_path(namespace), query=[("labelSelector", selector)])
        for item in listing.get("items", []):
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            if is_owned_child(item, env_name, env_uid):
                children.append(item)
    return children + read_credentials(kube, namespace, env_name, env_uid, secret_names)


def read_credentials(kube: Kube, namespace: str, env_name: str, env_uid: str,
                     secret_names: Iterable[str], read_secret=None) -> list[dict]:
    """The named Secrets that are this environment's, one GET each (Secrets are never listed
    nor watched: RBAC cannot narrow either by label). `read_secret(kube, namespace, name)`
    replaces the GET (kube/index.py keeps what it read)."""
    secrets = []
    for name in secret_names:
        secret = (read_secret(kube, namespace, name) if read_secret is not None
                  else read_object(kube, SECRETS, namespace, name))
        if secret is not None and is_credentials_child(secret, env_name, env_uid, name):
            secrets.append(secret)
    return secrets


def is_credentials_child(secret: dict, env_name: str, env_uid: str, secret_name: str) -> bool:
    return is_owned_child(secret, env_name, env_uid) or is_retained_credentials(secret, env_name, secret_name)


def read_object(kube: Kube, resource: Resource, namespace: str, name: str) -> dict | None:
    obj = kube.get(resource.object_path(name, namespace))
    if obj is not None:
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
    return obj


def resolve_missing(kube: Kube, desired: list[dict], live: list[dict], env_name: str,
                    env_uid: str) -> tuple[list[dict], list[str]]:
    """Look up the desired children missing from `live`: (those that are ours after all, name
    conflicts with objects that are not).

    Only names missing from `live` are looked up, so a converged environment costs nothing
    here. A kind with one missing name is read with a GET; with more (an environment's first
    sync: all of them), with one LIST of that kind in the namespace, unfiltered, since a
    foreign object need not carry our labels. Secrets are always read by name (no `list` on
    Secrets). `live` may come from a watch-fed index that has not yet seen our own latest
    writes: an object found here that `is_owned_child` says is ours is such a late arrival,
    returned so the caller counts it as live (not missing, not foreign). Anything else with our
    name is someone else's: applying over it would take it over (server-side apply with
    force), so the caller applies nothing."""
    ours = {object_key(o) for o in live}
    missing: dict[Resource, list[dict]] = {}
    for manifest in desired:
        if object_key(manifest) not in ours:
            missing.setdefault(resource_for(manifest), []).append(manifest)
    found, conflicts = [], []
    for resource, manifests in missing.items():
        for manifest, existing in zip(manifests, _read_named(kube, resource, manifests)):
            if existing is None:
                continue
            meta = manifest["metadata"]
            if is_owned_child(existing, env_name, env_uid) or (
                    manifest["kind"] == "Secret" and is_credentials_child(existing, env_name, env_uid, meta["name"])):
                found.append(existing)
                continue
            conflicts.append(describe_foreign(existing, env_name))
    return found, conflicts


def _read_named(kube: Kube, resource: Resource, manifests: list[dict]) -> list[dict | None]:
    """The live objects named like `manifests` (one kind, one namespace each), None where none."""
    if len(manifests) == 1 or resource.kind == "Secret":
        return [read_object(kube, resource, m["metadata"]["namespace"], m["metadata"]["name"]) for m in manifests]
    namespaces = {m["metadata"]["namespace"] for m in manifests}
    by_name: dict[tuple[str, str], dict] = {}
    for namespace in namespaces:
        for item in kube.request("GET", resource.collection_path(namespace)).get("items", []):
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            by_name[namespace, item["metadata"]["name"]] = item
    return [by_name.get((m["metadata"]["namespace"], m["metadata"]["name"])) for m in manifests]


def after_writes(live: list[dict], applied: list[dict], deleted: list[dict]) -> list[dict]:
    """The children after a sync's own writes, without reading them again: each applied object
    as the API server answered the apply (its stored state, newer than any earlier read), the
    deleted ones gone, every other child as it was read."""
    replaced = {object_key(o): o for o in applied}
    gone = {object_key(o) for o in deleted}
    kept = [o for o in live if object_key(o) not in replaced and object_key(o) not in gone]
    return kept + list(replaced.values())


def select_prunable(desired: list[dict], live: list[dict], env_name: str, env_uid: str) -> list[dict]:
    """Live children the spec no longer asks for. Only this environment's own objects qualify,
    and never a Secret: the credentials leave only with their environment (garbage collection)."""
    wanted = {object_key(m) for m in desired}
    return [o for o in live
            if o.get("kind") != "Secret" and object_key(o) not in wanted and is_owned_child(o, env_name, env_uid)]


def postgres_data_evidence(kube: Kube, namespace: str, live: list[dict], statefulset: str,
                           claim_prefix: str) -> list[str]:
    """What shows that PostgreSQL already has data here: its StatefulSet, or volume claims
    named after it (they outlive the StatefulSet with storage.retainOnDelete). Empty when
    this is a first start."""
    evidence = [f"StatefulSet {statefulset} exists" for o in live
                if o.get("kind") == "StatefulSet" and o["metadata"]["name"] == statefulset]
    claims = kube.request("GET", PERSISTENT_VOLUME_CLAIMS.collection_path(namespace)).get("items", [])
    names = sorted(c["metadata"]["name"] for c in claims if c["metadata"]["name"].startswith(claim_prefix))
    if names:
        evidence.append("PersistentVolumeClaim " + ", ".join(names) + (" exists" if len(names) == 1 else " exist"))
    return evidence
