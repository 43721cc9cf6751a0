"""etcd: membership, Services, StatefulSet, disruption budget."""

from __future__ import annotations

import pytest

from parity.api.models import EnvironmentSpec, EtcdSpec
from parity.render import build_children, etcd_endpoints
from parity.render.etcd import initial_cluster, initial_cluster_token, pdb_max_unavailable

ENV, NS, UID = "dev", "team-a", "uid-1"


def etcd_objects(raw: dict | None = None) -> dict[tuple[str, str], dict]:
    spec = EnvironmentSpec.model_validate(raw or {})
    children = build_children(ENV, NS, UID, spec)
    return {(o["kind"], o["metadata"]["name"]): o for o in children
            if o["metadata"]["labels"]["app.kubernetes.io/component"] == "etcd"}


def env_of(statefulset: dict) -> dict[str, object]:
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("replicas, expected", [
    (1, "dev-etcd-0=http://dev-etcd-0.dev-etcd-peer.team-a.svc:2380"),
    (3, "dev-etcd-0=http://dev-etcd-0.dev-etcd-peer.team-a.svc:2380,"
        "dev-etcd-1=http://dev-etcd-1.dev-etcd-peer.team-a.svc:2380,"
        "dev-etcd-2=http://dev-etcd-2.dev-etcd-peer.team-a.svc:2380"),
    (5, ",".join(f"dev-etcd-{i}=http://dev-etcd-{i}.dev-etcd-peer.team-a.svc:2380" for i in range(5))),
])
def test_initial_cluster_lists_every_member_by_stable_peer_dns(replicas, expected):
    assert initial_cluster(ENV, NS, replicas) == expected
    sts = etcd_objects({"etcd": {"replicas": replicas}})[("StatefulSet", "dev-etcd")]
    env = env_of(sts)
    assert env["ETCD_INITIAL_CLUSTER"] == expected
    assert sts["spec"]["replicas"] == replicas


def test_initial_cluster_has_exactly_replicas_members():
    for replicas in (1, 3, 5, 7):
        members = initial_cluster(ENV, NS, replicas).split(",")
        assert [m.split("=")[0] for m in members] == [f"dev-etcd-{i}" for i in range(replicas)]


def test_endpoints_are_client_urls_in_member_order():
    assert etcd_endpoints(ENV, NS, 3) == [
        "http://dev-etcd-0.dev-etcd-peer.team-a.svc:2379",
        "http://dev-etcd-1.dev-etcd-peer.team-a.svc:2379",
        "http://dev-etcd-2.dev-etcd-peer.team-a.svc:2379",
    ]


def test_advertised_urls_use_the_pod_name_through_the_peer_service():
    env = env_of(etcd_objects()[("StatefulSet", "dev-etcd")])
    assert env["ETCD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["ETCD_ADVERTISE_CLIENT_URLS"] == "http://$(ETCD_NAME).dev-etcd-peer.team-a.svc:2379"
    assert env["ETCD_INITIAL_ADVERTISE_PEER_URLS"] == "http://$(ETCD_NAME).dev-etcd-peer.team-a.svc:2380"
    assert env["ETCD_INITIAL_CLUSTER_STATE"] == "new"
    # ETCD_NAME must precede the variables that reference it, or the kubelet leaves $(ETCD_NAME) as is.
    names = list(env)
    assert names.index("ETCD_NAME") < names.index("ETCD_ADVERTISE_CLIENT_URLS")


def test_cluster_token_differs_per_environment_and_namespace():
    tokens = {initial_cluster_token("dev", "a"), initial_cluster_token("dev", "b"), initial_cluster_token("qa", "a")}
    assert len(tokens) == 3
    assert env_of(etcd_objects()[("StatefulSet", "dev-etcd")])["ETCD_INITIAL_CLUSTER_TOKEN"] == \
        initial_cluster_token(ENV, NS)


def test_services_peer_headless_publishes_not_ready_and_client_service_exists():
    objects = etcd_objects()
    peer = objects[("Service", "dev-etcd-peer")]["spec"]
    assert peer["clusterIP"] == "None"
    assert peer["publishNotReadyAddresses"] is True
    assert {(p["name"], p["port"]) for p in peer["ports"]} == {("peer", 2380), ("client", 2379)}
    client = objects[("Service", "dev-etcd")]["spec"]
    assert "clusterIP" not in client
    assert [(p["name"], p["port"]) for p in client["ports"]] == [("client", 2379)]


def test_statefulset_shape():
    sts = etcd_objects()[("StatefulSet", "dev-etcd")]["spec"]
    assert sts["serviceName"] == "dev-etcd-peer"
    assert sts["podManagementPolicy"] == "Parallel"
    container = sts["template"]["spec"]["containers"][0]
    assert container["image"] == "quay.io/coreos/etcd:v3.5.17"
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "client"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health?serializable=true"
    assert sts["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert container["volumeMounts"] == [{"mountPath": "/var/lib/etcd", "name": "data"}]


@pytest.mark.parametrize("retain, expected", [(False, "Delete"), (True, "Retain")])
def test_claims_follow_postgres_retain_on_delete(retain, expected):
    sts = etcd_objects({"postgres": {"storage": {"retainOnDelete": retain}}})[("StatefulSet", "dev-etcd")]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": expected, "whenScaled": "Delete"}


@pytest.mark.parametrize("replicas, expected", [(1, 1), (3, 1), (5, 2), (7, 3)])
def test_pdb_keeps_quorum_and_never_blocks_a_single_member(replicas, expected):
    assert pdb_max_unavailable(replicas) == expected
    pdb = etcd_objects({"etcd": {"replicas": replicas}})[("PodDisruptionBudget", "dev-etcd")]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["maxUnavailable"] == expected
    # Whatever may be down, the remaining members are a majority (except the single-member case).
    if replicas > 1:
        assert replicas - expected > replicas // 2


def test_image_override_and_version():
    assert etcd_objects({"etcd": {"version": "3.5.12"}})[("StatefulSet", "dev-etcd")]["spec"]["template"]["spec"][
        "containers"][0]["image"] == "quay.io/coreos/etcd:v3.5.12"
    spec = EtcdSpec(image="registry.local/etcd:custom")
    sts = etcd_objects({"etcd": spec.to_wire()})[("StatefulSet", "dev-etcd")]
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/etcd:custom"
