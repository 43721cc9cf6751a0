"""NetworkPolicies: each section's pods admit the environment's own pods and the operator's
namespace; spec.network.clientNamespaces opens only the client ports; off means none."""

from __future__ import annotations

import pytest

from parity import constants as c
from parity.api import parse_environment
from parity.api.errors import SpecError
from parity.api.models import EnvironmentSpec
from parity.render import build_children

ENV, NS, UID = "dev", "team-a", "uid-1"


def policies(raw: dict | None = None) -> dict[str, dict]:
    spec = EnvironmentSpec.model_validate(raw or {})
    return {o["metadata"]["name"]: o for o in build_children(ENV, NS, UID, spec) if o["kind"] == "NetworkPolicy"}


def client_rule(policy: dict) -> dict | None:
    rules = [r for r in policy["spec"]["ingress"] if "ports" in r]
    assert len(rules) <= 1
    return rules[0] if rules else None


def test_one_policy_per_section_selecting_that_sections_pods():
    found = policies({"observability": {"enabled": True}})
    assert sorted(found) == ["dev-etcd", "dev-observability", "dev-postgres", "dev-redis"]
    for name, policy in found.items():
        component = name.removeprefix("dev-")
        assert policy["spec"]["podSelector"]["matchLabels"] == {
            c.LABEL_INSTANCE: ENV, c.LABEL_PART_OF: c.PART_OF, c.LABEL_COMPONENT: component}
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        assert policy["metadata"]["ownerReferences"][0]["uid"] == UID
        assert policy["metadata"]["labels"][c.LABEL_ENVIRONMENT] == ENV
        assert client_rule(policy) is None


def test_own_pods_and_the_operator_namespace_are_admitted_on_every_port():
    [rule] = policies()["dev-postgres"]["spec"]["ingress"]
    assert "ports" not in rule
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {c.LABEL_INSTANCE: ENV, c.LABEL_PART_OF: c.PART_OF}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "parity-system"}}},
    ]


def test_every_pod_template_is_selected_by_its_sections_policy():
    spec = EnvironmentSpec.model_validate({"observability": {"enabled": True, "jaeger": {"enabled": True}}})
    children = build_children(ENV, NS, UID, spec)
    selectors = [o["spec"]["podSelector"]["matchLabels"] for o in children if o["kind"] == "NetworkPolicy"]
    for workload in (o for o in children if o["kind"] in ("StatefulSet", "Deployment")):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert sum(all(labels.get(k) == v for k, v in s.items()) for s in selectors) == 1, workload["metadata"]


def test_client_namespaces_open_only_client_ports():
    found = policies({"observability": {"enabled": True},
                      "network": {"clientNamespaces": ["shop", "checkout", "shop"]}})
    ports = {name: [p["port"] for p in rule["ports"]] if (rule := client_rule(p)) else None
             for name, p in found.items()}
    assert ports == {"dev-etcd": None, "dev-postgres": [5432], "dev-redis": [6379, 26379],
                     "dev-observability": [4317, 4318]}
    rule = client_rule(found["dev-postgres"])
    assert rule["from"] == [{"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["checkout", "shop"]}]}}]


def test_policies_off_renders_none_and_observability_off_has_no_observability_policy():
    assert policies({"network": {"policies": False}, "observability": {"enabled": True}}) == {}
    assert "dev-observability" not in policies()


def test_a_client_namespace_must_be_a_namespace_name():
    with pytest.raises(SpecError) as error:
        parse_environment({"network": {"clientNamespaces": ["Shop_App"]}}, source="env.yaml")
    assert "network.clientNamespaces" in str(error.value)
