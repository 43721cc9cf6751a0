"""NetworkPolicies: who may connect to an environment's pods.

One policy per section (`<env>-etcd`, `<env>-postgres`, `<env>-redis`, `<env>-observability`)
selecting that section's pods. Each admits, on every port, the environment's own pods (members
talking to each other, the exporters, Prometheus) and the operator's namespace (its probes,
drills and actuation). `spec.network.clientNamespaces` additionally opens the client ports
(PostgreSQL, Redis, Sentinel, OTLP) to the pods of the namespaces listed, typically the
developer's application; Patroni's REST API and etcd stay closed to them.

Ingress only: egress stays open, because the pods need DNS, each other and (Patroni's role
callback) the API server, whose address differs between clusters. A cluster whose CNI does not
enforce NetworkPolicies (the local real node's bridge) stores them and changes nothing.
"""

from __future__ import annotations

from typing import Any

from parity import constants as c
from parity.api.models import EnvironmentSpec
from parity.render import observability, postgres, redis
from parity.render.common import Owner

# The namespace the operator's Deployment runs in (manifests/operator/namespace.yaml).
OPERATOR_NAMESPACE = "parity-system"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# Ports that clients in spec.network.clientNamespaces may use, per section.
CLIENT_PORTS = {
    c.COMPONENT_ETCD: (),
    c.COMPONENT_POSTGRES: (postgres.POSTGRES_PORT,),
    c.COMPONENT_REDIS: (redis.REDIS_PORT, redis.SENTINEL_PORT),
    c.COMPONENT_OBSERVABILITY: (observability.OTLP_GRPC_PORT, observability.OTLP_HTTP_PORT),
}


def policy_name(env_name: str, component: str) -> str:
    return f"{env_name}-{component}"


def environment_pods(owner: Owner) -> dict[str, str]:
    """Labels every pod of the environment carries (render/common.build_labels)."""
    return {c.LABEL_INSTANCE: owner.env_name, c.LABEL_PART_OF: c.PART_OF}


def build_network_policy(owner: Owner, component: str, client_namespaces: list[str]) -> dict[str, Any]:
    ingress: list[dict[str, Any]] = [{"from": [
        {"podSelector": {"matchLabels": environment_pods(owner)}},
        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: OPERATOR_NAMESPACE}}},
    ]}]
    ports = CLIENT_PORTS[component]
    if client_namespaces and ports:
        ingress.append({
            "from": [{"namespaceSelector": {"matchExpressions": [
                {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(set(client_namespaces))}]}}],
            "ports": [{"port": port, "protocol": "TCP"} for port in ports],
        })
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": owner.metadata(component, policy_name(owner.env_name, component)),
        "spec": {
            "ingress": ingress,
            "podSelector": {"matchLabels": {**environment_pods(owner), c.LABEL_COMPONENT: component}},
            "policyTypes": ["Ingress"],
        },
    }


def build_network_policies(owner: Owner, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    """A policy for each section that runs pods; none when spec.network.policies is off."""
    if not spec.network.policies:
        return []
    components = [c.COMPONENT_ETCD, c.COMPONENT_POSTGRES, c.COMPONENT_REDIS]
    if observability.enabled_parts(spec):
        components.append(c.COMPONENT_OBSERVABILITY)
    return [build_network_policy(owner, component, list(spec.network.client_namespaces)) for component in components]
