"""Every child object of one ParityEnvironment, in the order they are applied."""

from __future__ import annotations

from typing import Any

from parity.api.models import EnvironmentSpec
from parity.render import etcd, images, network, observability, postgres, redis
from parity.render.common import Owner

# Identity and configuration first, so that a workload never starts before what it mounts,
# reads or runs as exists; disruption budgets and network policies last, next to what they protect.
APPLY_ORDER = (
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "Service",
    "StatefulSet",
    "Deployment",
    "PodDisruptionBudget",
    "NetworkPolicy",
)
_RANK = {kind: rank for rank, kind in enumerate(APPLY_ORDER)}
# StatefulSets and Deployments are one tier: within it the section order (etcd first) decides.
_RANK["Deployment"] = _RANK["StatefulSet"]


def build_children(
    env_name: str,
    namespace: str,
    owner_uid: str,
    spec: EnvironmentSpec,
    *,
    secret_values: dict[str, str] | None = None,
    catalog: images.ImageCatalog = images.PUBLISHED,
    secret_keys: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """All children, sorted by kind tier and, within a tier, etcd, postgres, redis, observability.

    The PostgreSQL Secret is included only when `secret_values` (its passwords) are given: the
    caller generates them once with `generate_passwords()` when the Secret does not exist yet
    and otherwise leaves the existing Secret alone, so passwords are never overwritten.
    Observability objects appear only when spec.observability.enabled, each part only when its
    own toggle is on. The same arguments always give an equal list (byte-identical as JSON).
    `secret_keys`: the keys the live credentials Secret holds (None: every key): a password it
    lacks is not used (an environment whose Secret predates that key: render/postgres.py).
    """
    owner = Owner(env_name, namespace, owner_uid, catalog, secret_keys=secret_keys)
    etcd_urls = etcd.etcd_endpoints(env_name, namespace, spec.etcd.replicas)
    sections = [
        etcd.build_etcd(owner, spec.etcd, retain_on_delete=spec.postgres.storage.retain_on_delete),
        postgres.build_postgres(owner, spec.postgres, etcd_urls, secret_values=secret_values),
        redis.build_redis(owner, spec.redis),
        observability.build_observability(owner, spec),
        network.build_network_policies(owner, spec),
    ]
    children = [obj for section in sections for obj in section]
    # sorted() is stable: section order survives inside each tier.
    return sorted(children, key=lambda obj: _RANK[obj["kind"]])


def child_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name): what identifies a child across renders and reads."""
    metadata = obj["metadata"]
    return obj["apiVersion"], obj["kind"], metadata["namespace"], metadata["name"]
