"""NetworkPolicies and PodDisruptionBudgets as the operator writes them: owned, labelled, read
back from the API server as rendered, opened to a client namespace by the spec switch, and
pruned when the switch turns them off."""

from __future__ import annotations

import json

import pytest
import yaml

from parity import constants

from support import REPO_ROOT, kget, wait_until

pytestmark = pytest.mark.integration


def sample(**network) -> dict:
    manifest = yaml.safe_load((REPO_ROOT / "manifests/samples/dev.yaml").read_text())
    manifest["spec"]["network"] = network
    return manifest


def apply(plane, manifest: dict, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def listed(plane, kinds: str, namespace: str) -> dict[str, dict]:
    items = kget(plane, kinds, "-n", namespace, "-l", f"{constants.LABEL_ENVIRONMENT}=dev")["items"]
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in items}


def test_policies_and_budgets_are_written_owned_and_pruned(operator, namespace):
    plane = operator.plane
    apply(plane, sample(clientNamespaces=["shop"]), namespace)
    expected = {"NetworkPolicy/dev-etcd", "NetworkPolicy/dev-postgres", "NetworkPolicy/dev-redis",
                "NetworkPolicy/dev-observability", "PodDisruptionBudget/dev-etcd", "PodDisruptionBudget/dev-postgres",
                "PodDisruptionBudget/dev-redis", "PodDisruptionBudget/dev-sentinel"}
    found = wait_until(lambda: (objs := listed(plane, "networkpolicies,poddisruptionbudgets", namespace))
                       and expected <= set(objs) and objs, timeout=90, what="policies and budgets")
    uid = kget(plane, "penv", "dev", "-n", namespace)["metadata"]["uid"]
    for name, obj in found.items():
        assert [r["uid"] for r in obj["metadata"]["ownerReferences"] if r.get("controller")] == [uid], name
        assert obj["metadata"]["labels"][constants.LABEL_MANAGED_BY] == constants.MANAGED_BY, name
    postgres = found["NetworkPolicy/dev-postgres"]["spec"]
    assert postgres["policyTypes"] == ["Ingress"]
    assert postgres["podSelector"]["matchLabels"][constants.LABEL_COMPONENT] == "postgres"
    [client] = [rule for rule in postgres["ingress"] if "ports" in rule]
    assert client["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert client["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["shop"]
    assert found["PodDisruptionBudget/dev-sentinel"]["spec"]["maxUnavailable"] == 1

    apply(plane, sample(policies=False), namespace)
    wait_until(lambda: not listed(plane, "networkpolicies", namespace), timeout=90, what="policies pruned")
    assert "PodDisruptionBudget/dev-postgres" in listed(plane, "poddisruptionbudgets", namespace)
