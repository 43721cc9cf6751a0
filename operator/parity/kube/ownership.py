"""Which objects are an environment's own: the one place that decides it.

A label is only a pointer: anyone who can create objects in a namespace can put
`parity.dev/environment=<name>` on them (copying a child's YAML does it by accident). So an
object is ours only when it carries that label AND a controller owner reference to this
environment's uid, which the operator sets when it creates the object. Everything the
operator lists, prunes, counts or overwrites goes through `is_owned_child`; an object that only
has the label is the user's, and is never touched.

One exception is made on purpose: with spec.postgres.storage.retainOnDelete the credentials
Secret is created without an owner reference, so that it survives the environment together
with the volumes whose passwords it holds (render/postgres.py). `is_retained_credentials`
recognises it: the exact name, our labels, no owner at all, and written by our field manager.
"""

from __future__ import annotations

from typing import Any

from parity import constants


def controller_reference(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The owner reference marked `controller: true`, if any (Kubernetes allows at most one)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def is_controlled_by_an_environment(obj: dict[str, Any]) -> bool:
    """A controller reference to some ParityEnvironment (any uid): what a child event is worth a look."""
    ref = controller_reference(obj)
    return bool(ref) and ref.get("kind") == constants.ENVIRONMENT_KIND and \
        str(ref.get("apiVersion", "")).split("/")[0] == constants.GROUP


def is_owned_child(obj: dict[str, Any], env_name: str, env_uid: str) -> bool:
    """True only for an object the operator created for this very environment: our environment
    label with its name, and a controller owner reference to its uid."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if labels.get(constants.LABEL_ENVIRONMENT) != env_name:
        return False
    ref = controller_reference(obj)
    return is_controlled_by_an_environment(obj) and bool(env_uid) and ref.get("uid") == env_uid and \
        ref.get("name") == env_name


def applied_by_us(obj: dict[str, Any]) -> bool:
    """managedFields show an Apply by the operator's field manager."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if isinstance(entry, dict) and entry.get("manager") == constants.FIELD_MANAGER and \
                entry.get("operation") == "Apply":
            return True
    return False


def is_retained_credentials(obj: dict[str, Any], env_name: str, secret_name: str) -> bool:
    """The ownerless credentials Secret that storage.retainOnDelete leaves behind (see the
    module docstring). A Secret with an owner, another name or another writer is not it."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    return (
        obj.get("kind") == "Secret"
        and meta.get("name") == secret_name
        and labels.get(constants.LABEL_ENVIRONMENT) == env_name
        and labels.get(constants.LABEL_MANAGED_BY) == constants.MANAGED_BY
        and not meta.get("ownerReferences")
        and applied_by_us(obj)
    )


def describe_foreign(obj: dict[str, Any], env_name: str) -> str:
    """Why an object with one of our names is not ours, for a status message."""
    meta = obj.get("metadata") or {}
    ref = controller_reference(obj)
    if ref is None:
        owner = "it has no controller owner reference"
    else:
        owner = f"its controller is {ref.get('kind')} {ref.get('name')} (uid {ref.get('uid')})"
    return (f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')} exists but was not created by the operator "
            f"for ParityEnvironment {env_name}: {owner}")
