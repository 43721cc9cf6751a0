"""What keeps an environment up through node drains and runaway writers: a PodDisruptionBudget and
spread for every StatefulSet, requests and limits on every container the operator adds, a bound
on every emptyDir, liveness that differs from readiness."""

from __future__ import annotations

import pytest

from parity.api.models import EnvironmentSpec
from parity.render import build_children

ENV, NS, UID = "dev", "team-a", "uid-1"
EVERYTHING = {"observability": {"enabled": True, "jaeger": {"enabled": True}}}


def children(raw: dict | None = None) -> dict[tuple[str, str], dict]:
    spec = EnvironmentSpec.model_validate(raw or EVERYTHING)
    return {(o["kind"], o["metadata"]["name"]): o for o in build_children(ENV, NS, UID, spec)}


def pods(objs: dict) -> dict[str, dict]:
    return {name: o["spec"]["template"]["spec"] for (kind, name), o in objs.items()
            if kind in ("StatefulSet", "Deployment")}


@pytest.mark.parametrize("redis, expected", [
    ({}, {"dev-etcd": 1, "dev-postgres": 1, "dev-redis": 1, "dev-sentinel": 1}),
    ({"sentinel": {"replicas": 5, "quorum": 2}}, {"dev-etcd": 1, "dev-postgres": 1, "dev-redis": 1, "dev-sentinel": 3}),
    ({"mode": "standalone", "replicas": 1}, {"dev-etcd": 1, "dev-postgres": 1, "dev-redis": 1}),
])
def test_every_statefulset_has_a_budget_selecting_its_pods(redis, expected):
    objs = children({"redis": redis})
    budgets = {name: o for (kind, name), o in objs.items() if kind == "PodDisruptionBudget"}
    assert {name: b["spec"]["maxUnavailable"] for name, b in budgets.items()} == expected
    for name, budget in budgets.items():
        template = objs[("StatefulSet", name)]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= template.items()


def test_statefulset_members_prefer_different_nodes():
    for name, pod in pods(children()).items():
        if not name.endswith(("etcd", "postgres", "redis", "sentinel")):
            assert "affinity" not in pod
            continue
        [term] = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == ENV


def test_containers_the_operator_adds_have_requests_and_limits():
    for name, pod in pods(children()).items():
        for container in pod.get("initContainers", []) + pod["containers"]:
            if container["name"] in ("etcd", "postgres", "redis"):
                continue  # from spec.<section>.resources, the developer's choice
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}, (name, container["name"])
            # Sentinel, the failure detector, has no CPU limit: throttling would delay its pings.
            limited = {"memory"} if container["name"] == "sentinel" else {"cpu", "memory"}
            assert set(resources["limits"]) == limited, (name, container["name"])


def test_sentinel_resources_follow_the_spec_field():
    sentinel = pods(children({"redis": {"sentinel": {"resources": {"limits": {"memory": "64Mi"}}}}}))["dev-sentinel"]
    assert sentinel["containers"][0]["resources"] == {"limits": {"memory": "64Mi"}}
    default = pods(children({}))["dev-sentinel"]["containers"][0]["resources"]
    assert default == {"limits": {"memory": "128Mi"}, "requests": {"cpu": "10m", "memory": "32Mi"}}


def test_every_empty_dir_is_bounded():
    volumes = [v for pod in pods(children()).values() for v in pod.get("volumes", []) if "emptyDir" in v]
    assert volumes
    assert all(v["emptyDir"].get("sizeLimit") for v in volumes)


def handler(probe: dict) -> dict:
    """What a probe asks, without its timing (which kube-score's identical-probe check ignores too)."""
    return {k: v for k, v in probe.items() if k in ("httpGet", "tcpSocket", "exec", "grpc")}


def test_liveness_asks_something_else_than_readiness_everywhere():
    for name, pod in pods(children()).items():
        for container in pod["containers"]:
            assert handler(container["livenessProbe"]) != handler(container["readinessProbe"]), name
