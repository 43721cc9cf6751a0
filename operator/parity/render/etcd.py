"""etcd: the DCS Patroni keeps its leader lock and configuration in.

Objects: `<env>-etcd-peer` (headless, publishes not-ready pods so members find each other
while bootstrapping), `<env>-etcd` (clients), StatefulSet `<env>-etcd`, PodDisruptionBudget
`<env>-etcd`.
"""

from __future__ import annotations

from typing import Any

from parity import constants as c
from parity.api.models import EtcdSpec
from parity.render import images
from parity.render.common import (
    NON_ROOT_UID,
    read_only_root,
    Owner,
    claim_retention,
    container_port,
    env_field,
    env_value,
    http_probe,
    pod_spec,
    service,
    service_port,
    statefulset,
    volume_claim_template,
    spread_members,
    with_resources,
)

APP = "etcd"
CLIENT_PORT = 2379
PEER_PORT = 2380
DATA_DIR = "/var/lib/etcd"
DATA_VOLUME = "data"
# etcd holds only Patroni's few keys; 1Gi leaves room for the history kept between compactions.
DATA_SIZE = "1Gi"


def statefulset_name(env_name: str) -> str:
    return f"{env_name}-etcd"


def client_service_name(env_name: str) -> str:
    return f"{env_name}-etcd"


def peer_service_name(env_name: str) -> str:
    return f"{env_name}-etcd-peer"


def member_name(env_name: str, index: int) -> str:
    return f"{statefulset_name(env_name)}-{index}"


def member_host(env_name: str, namespace: str, index: int) -> str:
    """Stable DNS name of one member, resolvable even before it is ready."""
    return f"{member_name(env_name, index)}.{peer_service_name(env_name)}.{namespace}.svc"


def etcd_endpoints(env_name: str, namespace: str, replicas: int) -> list[str]:
    """Client URLs of every member, in member order (what Patroni and the probes dial)."""
    return [f"http://{member_host(env_name, namespace, i)}:{CLIENT_PORT}" for i in range(replicas)]


def initial_cluster(env_name: str, namespace: str, replicas: int) -> str:
    return ",".join(
        f"{member_name(env_name, i)}=http://{member_host(env_name, namespace, i)}:{PEER_PORT}" for i in range(replicas)
    )


def initial_cluster_token(env_name: str, namespace: str) -> str:
    # Distinct per environment so that members of two environments can never join each other.
    return f"parity-{namespace}-{env_name}"


def pdb_max_unavailable(replicas: int) -> int:
    """Members that may be down at once without losing quorum: (n-1)//2.

    A single member has no quorum to protect; 0 there would block every node drain forever,
    so it gets 1 (the budget then documents intent without blocking anything).
    """
    return max(1, (replicas - 1) // 2)


def build_etcd_peer_service(owner: Owner) -> dict[str, Any]:
    return service(
        owner, c.COMPONENT_ETCD, peer_service_name(owner.env_name), APP,
        [service_port("client", CLIENT_PORT), service_port("peer", PEER_PORT)],
        headless=True, publish_not_ready=True,
    )


def build_etcd_client_service(owner: Owner) -> dict[str, Any]:
    return service(owner, c.COMPONENT_ETCD, client_service_name(owner.env_name), APP,
                   [service_port("client", CLIENT_PORT)])


def _etcd_env(owner: Owner, replicas: int) -> list[dict[str, Any]]:
    peer_domain = f"{peer_service_name(owner.env_name)}.{owner.namespace}.svc"
    # Order matters: $(ETCD_NAME) is expanded by the kubelet only from variables defined before.
    return [
        env_field("ETCD_NAME", "metadata.name"),
        env_value("ETCD_DATA_DIR", DATA_DIR),
        env_value("ETCD_LISTEN_CLIENT_URLS", f"http://0.0.0.0:{CLIENT_PORT}"),
        env_value("ETCD_LISTEN_PEER_URLS", f"http://0.0.0.0:{PEER_PORT}"),
        env_value("ETCD_ADVERTISE_CLIENT_URLS", f"http://$(ETCD_NAME).{peer_domain}:{CLIENT_PORT}"),
        env_value("ETCD_INITIAL_ADVERTISE_PEER_URLS", f"http://$(ETCD_NAME).{peer_domain}:{PEER_PORT}"),
        env_value("ETCD_INITIAL_CLUSTER", initial_cluster(owner.env_name, owner.namespace, replicas)),
        env_value("ETCD_INITIAL_CLUSTER_STATE", "new"),
        env_value("ETCD_INITIAL_CLUSTER_TOKEN", initial_cluster_token(owner.env_name, owner.namespace)),
        # Patroni rewrites its member and leader keys every loop; without compaction the
        # revision history would grow until the backend quota is hit.
        env_value("ETCD_AUTO_COMPACTION_MODE", "periodic"),
        env_value("ETCD_AUTO_COMPACTION_RETENTION", "1h"),
    ]


def build_etcd_statefulset(owner: Owner, spec: EtcdSpec, *, retain_on_delete: bool = False) -> dict[str, Any]:
    name = statefulset_name(owner.env_name)
    container = with_resources({
        "name": APP,
        "image": images.etcd_image(spec, owner.images),
        "command": ["/usr/local/bin/etcd"],
        "env": _etcd_env(owner, spec.replicas),
        "ports": [container_port("client", CLIENT_PORT), container_port("peer", PEER_PORT)],
        # Readiness needs a leader (linearizable /health); liveness asks only the local member
        # (serializable), so losing quorum never makes the kubelet kill the survivors.
        "readinessProbe": http_probe("/health", "client", period=5),
        "livenessProbe": http_probe("/health?serializable=true", "client", period=10, failures=6, delay=15),
        "volumeMounts": [{"mountPath": DATA_DIR, "name": DATA_VOLUME}],
    }, spec.resources)
    return statefulset(
        # Any user: etcd is one static binary that writes only its data volume, which the
        # volume provisioner makes writable for the pod (fsGroup, or local-path's 0777 directory).
        owner, c.COMPONENT_ETCD, name, APP,
        pod_spec([read_only_root(container)], affinity=spread_members(owner, APP), run_as=NON_ROOT_UID),
        replicas=spec.replicas,
        service_name=peer_service_name(owner.env_name),
        version=spec.version,
        # Members must start together: each waits for the others to form the first quorum.
        parallel=True,
        claims=[volume_claim_template(owner, APP, DATA_VOLUME, DATA_SIZE)],
        # Follows spec.postgres.storage.retainOnDelete: retained PostgreSQL data is only
        # useful together with the DCS state that names its cluster. Scaled-away members'
        # data is stale membership and is always dropped.
        retention=claim_retention(retain_on_delete=retain_on_delete, retain_on_scale=False),
    )


def build_etcd_pdb(owner: Owner, spec: EtcdSpec) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": owner.metadata(c.COMPONENT_ETCD, statefulset_name(owner.env_name), app=APP),
        "spec": {
            "maxUnavailable": pdb_max_unavailable(spec.replicas),
            "selector": {"matchLabels": owner.selector(APP)},
        },
    }


def build_etcd(owner: Owner, spec: EtcdSpec, *, retain_on_delete: bool = False) -> list[dict[str, Any]]:
    return [
        build_etcd_peer_service(owner),
        build_etcd_client_service(owner),
        build_etcd_statefulset(owner, spec, retain_on_delete=retain_on_delete),
        build_etcd_pdb(owner, spec),
    ]
