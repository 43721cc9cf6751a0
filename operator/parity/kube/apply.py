"""The one write path: server-side apply under one field manager.

Each child carries an annotation with a hash of its desired manifest. A reconcile applies a
child only when that hash differs from the live one (the spec changed), when the child is
missing, or when `force` is asked for (enforce policy reverting live drift). So a resync with
nothing changed writes nothing and no child's resourceVersion moves.
"""

from __future__ import annotations

import hashlib
import json

from parity import constants
from parity.kube.client import Kube, KubeError
from parity.kube.resources import CHILD_RESOURCES, Resource, resource_for

HASH_ANNOTATION = f"{constants.ANNOTATION_PREFIX}/desired-hash"


def manifest_hash(manifest: dict) -> str:
    """A stable digest of what we want, computed before the hash annotation is added."""
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def with_hash(manifest: dict) -> dict:
    digest = manifest_hash(manifest)
    metadata = dict(manifest.get("metadata", {}))
    metadata["annotations"] = {**metadata.get("annotations", {}), HASH_ANNOTATION: digest}
    return {**manifest, "metadata": metadata}


def apply_object(kube: Kube, manifest: dict, *, force: bool = True, dry_run: bool = False) -> dict:
    """Server-side apply one object. `force` takes over fields another manager holds — the
    operator owns what it renders; without it a conflict raises KubeError(409)."""
    resource = resource_for(manifest)
    meta = manifest["metadata"]
    query = [("fieldManager", constants.FIELD_MANAGER), ("fieldValidation", "Strict")]
    if force:
        query.append(("force", "true"))
    if dry_run:
        query.append(("dryRun", "All"))
    path = resource.object_path(meta["name"], meta.get("namespace"))
    return kube.request("PATCH", path, body=manifest, query=query, content_type="application/apply-patch+yaml")


def list_children(kube: Kube, namespace: str, env_name: str,
                  resources: tuple[Resource, ...] = CHILD_RESOURCES) -> list[dict]:
    """Every live child of one environment, found by its environment label."""
    selector = f"{constants.LABEL_ENVIRONMENT}={env_name}"
    children = []
    for resource in resources:
        listing = kube.request("GET", resource.collection_path(namespace), query=[("labelSelector", selector)])
        for item in listing.get("items", []):
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            children.append(item)
    return children


def delete_object(kube: Kube, obj: dict) -> None:
    resource = resource_for(obj)
    meta = obj["metadata"]
    try:
        kube.request("DELETE", resource.object_path(meta["name"], meta.get("namespace")),
                     body={"propagationPolicy": "Background"})
    except KubeError as err:
        if err.status != 404:
            raise


def object_key(obj: dict) -> tuple[str, str, str]:
    return (obj.get("kind", ""), obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def patch_status(kube: Kube, resource: Resource, namespace: str | None, name: str, status: dict) -> dict:
    """Merge-patch the status subresource (None values remove keys)."""
    return kube.request("PATCH", resource.object_path(name, namespace) + "/status", body={"status": status},
                        content_type="application/merge-patch+json")
