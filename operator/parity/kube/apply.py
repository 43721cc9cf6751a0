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
from parity.kube.children import list_children, object_key  # noqa: F401  (re-exported)
from parity.kube.resources import Resource, resource_for

HASH_ANNOTATION = constants.ANNOTATION_DESIRED_HASH


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


def delete_object(kube: Kube, obj: dict) -> None:
    """Delete exactly the object that was read (uid precondition): if it was replaced by
    another object of the same name since, that one is left alone."""
    resource = resource_for(obj)
    meta = obj["metadata"]
    body: dict = {"propagationPolicy": "Background"}
    if meta.get("uid"):
        body["preconditions"] = {"uid": meta["uid"]}
    try:
        kube.request("DELETE", resource.object_path(meta["name"], meta.get("namespace")), body=body)
    except KubeError as err:
        if err.status not in (404, 409):  # gone, or no longer the object we read
            raise


def patch_status(kube: Kube, resource: Resource, namespace: str | None, name: str, status: dict, *,
                 resource_version: str | None = None) -> dict:
    """Merge-patch the status subresource (None values remove keys). With `resource_version`
    the write fails (409) if the object changed since it was read: a merge patch replaces
    lists such as conditions whole, so one computed from an older read would overwrite what
    another writer put there in between."""
    body: dict = {"status": status}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    # Under our field manager, like every write: without one the API server names the writer
    # after the HTTP client ("python-urllib3") in managedFields.
    return kube.request("PATCH", resource.object_path(name, namespace) + "/status", body=body,
                        query=[("fieldManager", constants.FIELD_MANAGER)], content_type="application/merge-patch+json")


def annotate(kube: Kube, resource: Resource, namespace: str | None, name: str, annotations: dict[str, str | None],
             *, resource_version: str | None = None) -> dict:
    """Merge-patch annotations on an object (None removes one). With `resource_version` the
    write fails (409) if the object changed since it was read."""
    metadata: dict = {"annotations": annotations}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return kube.request("PATCH", resource.object_path(name, namespace), body={"metadata": metadata},
                        query=[("fieldManager", constants.FIELD_MANAGER)], content_type="application/merge-patch+json")
