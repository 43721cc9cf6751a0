"""The operator's own manifests against the real API server (the local control plane).

- `kubectl apply --dry-run=server --server-side -k manifests/operator` is accepted, and the
  Deployment passes the namespace's restricted Pod Security level without a warning;
- the ClusterRole is enough: impersonating the operator's ServiceAccount, every child the
  renderers produce for the sample (the Patroni RoleBinding included, which RBAC lets only a
  holder of `bind` on the ClusterRole it names create) is accepted by a server-side dry-run
  apply, and kopf's reads work;
- and it is not more than that: no wildcards, no Secret listing, watching or deletion, no pod
  writes, no Roles, `bind` on the one shipped ClusterRole only, no access to nodes or deletion
  of environments;
- the shipped Patroni ClusterRole, bound the way the operator binds it, lets Patroni's pods
  patch pods in their own namespace and nothing else;
- manifests/kind-config.yaml is not a Kubernetes object: it is read as YAML and checked, and the
  NodePorts it publishes are accepted by the API server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from parity import constants
from parity.api import parse_environment
from parity.render.environment import build_children
from parity.render.postgres import generate_passwords
from support import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
OPERATOR_DIR = REPO / "manifests" / "operator"
NAMESPACE = "parity-system"
SA = f"system:serviceaccount:{NAMESPACE}:parity-operator"


@pytest.fixture(scope="module")
def operator_rbac(crds_installed):
    """The namespace, ServiceAccount and RBAC applied for real (a dry-run Role binds nobody)."""
    plane = crds_installed
    plane.kubectl("apply", "--server-side", "-f", str(OPERATOR_DIR / "namespace.yaml"))
    for name in ("serviceaccount.yaml", "rbac.yaml", "patroni-rbac.yaml"):
        plane.kubectl("apply", "--server-side", "-f", str(OPERATOR_DIR / name))
    yield plane
    # patroni-rbac.yaml stays: the operator fixture's environments bind it too.
    plane.kubectl("delete", "-f", str(OPERATOR_DIR / "rbac.yaml"), "--wait=false", check=False)
    plane.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def test_operator_manifests_pass_server_side_dry_run(operator_rbac):
    proc = operator_rbac.kubectl("apply", "--dry-run=server", "--server-side", "-k", str(OPERATOR_DIR))
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    expected = {"namespace/parity-system", "serviceaccount/parity-operator",
                "clusterrole.rbac.authorization.k8s.io/parity-operator",
                "clusterrolebinding.rbac.authorization.k8s.io/parity-operator",
                f"clusterrole.rbac.authorization.k8s.io/{constants.PATRONI_CLUSTER_ROLE}",
                "service/parity-operator-metrics", "deployment.apps/parity-operator"}
    applied = {line.split()[0] for line in lines}
    assert applied == expected, proc.stdout
    assert all("(server dry run)" in line for line in lines), proc.stdout
    # The Deployment's pod template meets the restricted level that namespace.yaml enforces.
    assert "would violate PodSecurity" not in proc.stderr, proc.stderr


def test_restricted_pod_security_is_enforced_and_would_refuse_a_weaker_pod(operator_rbac):
    """The warning-free dry run above means something: the same namespace refuses a root pod."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe-root", "namespace": NAMESPACE},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    proc = operator_rbac.kubectl("apply", "--dry-run=server", "--server-side", "-f", "-",
                                 input=json.dumps(pod), check=False)
    assert proc.returncode != 0 and "violates PodSecurity" in proc.stderr, proc.stderr


def test_no_wildcards_in_the_cluster_role():
    docs = [d for d in yaml.safe_load_all((OPERATOR_DIR / "rbac.yaml").read_text()) if d]
    (role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    for rule in role["rules"]:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule.get(key, []), rule
        assert "escalate" not in rule["verbs"], rule
        if "bind" in rule["verbs"]:
            assert rule == {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                            "verbs": ["bind"], "resourceNames": [constants.PATRONI_CLUSTER_ROLE]}, rule


def _can(plane, verb: str, resource: str, *, name: str | None = None, user: str = SA,
         namespace: str | None = None) -> bool:
    resource, _, subresource = resource.partition("/")
    target = f"{resource}/{name}" if name else resource
    args = ["auth", "can-i", verb, target, "--as", user]
    args += ["-n", namespace] if namespace else ["--all-namespaces"]
    if subresource:
        args.append(f"--subresource={subresource}")
    proc = plane.kubectl(*args, check=False)
    return proc.stdout.strip() == "yes"


@pytest.mark.parametrize("verb,resource", [
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("list", "namespaces"),
    ("watch", f"{constants.ENVIRONMENT_PLURAL}.{constants.GROUP}"),
    ("patch", f"{constants.ENVIRONMENT_PLURAL}.{constants.GROUP}"),
    ("patch", f"{constants.ENVIRONMENT_PLURAL}.{constants.GROUP}/status"),
    ("update", f"{constants.ENVIRONMENT_PLURAL}.{constants.GROUP}/finalizers"),
    ("watch", f"{constants.BASELINE_PLURAL}.{constants.GROUP}"),
    ("watch", f"{constants.NOTIFIER_PLURAL}.{constants.GROUP}"),
    ("patch", f"{constants.NOTIFIER_PLURAL}.{constants.GROUP}/status"),
    ("create", "events"),
    ("watch", "statefulsets.apps"),
    ("watch", "configmaps"),
    ("delete", "configmaps"),
    ("get", "secrets"),
    ("create", "secrets"),
    ("patch", "secrets"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("list", "persistentvolumeclaims"),
])
def test_operator_can_do_what_kopf_and_the_handlers_do(operator_rbac, verb, resource):
    assert _can(operator_rbac, verb, resource)


@pytest.mark.parametrize("verb,resource", [
    ("delete", f"{constants.ENVIRONMENT_PLURAL}.{constants.GROUP}"),
    ("create", f"{constants.BASELINE_PLURAL}.{constants.GROUP}"),
    ("patch", f"{constants.BASELINE_PLURAL}.{constants.GROUP}"),
    ("list", "nodes"),
    ("create", "clusterroles.rbac.authorization.k8s.io"),
    ("create", "pods"),
    ("create", "pods/exec"),
    ("patch", f"{constants.BASELINE_PLURAL}.{constants.GROUP}/status"),
    ("update", "statefulsets.apps/finalizers"),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "leases.coordination.k8s.io"),
    # Secrets: read by name and applied, never enumerated, watched, replaced or deleted.
    ("list", "secrets"),
    ("watch", "secrets"),
    ("delete", "secrets"),
    ("update", "secrets"),
    # Nothing of what the Patroni pods may do: the operator binds their ClusterRole, no more.
    ("patch", "pods"),
    ("list", "pods"),
    ("create", "roles.rbac.authorization.k8s.io"),
    ("escalate", "roles.rbac.authorization.k8s.io"),
    ("bind", "clusterroles.rbac.authorization.k8s.io"),
    ("delete", "persistentvolumeclaims"),
])
def test_operator_cannot_do_more(operator_rbac, verb, resource):
    assert not _can(operator_rbac, verb, resource)


def test_operator_may_bind_only_the_patroni_cluster_role(operator_rbac):
    clusterroles = "clusterroles.rbac.authorization.k8s.io"
    assert _can(operator_rbac, "bind", clusterroles, name=constants.PATRONI_CLUSTER_ROLE)
    for other in ("admin", "cluster-admin", "edit", constants.FIELD_MANAGER):
        assert not _can(operator_rbac, "bind", clusterroles, name=other), other


def test_operator_can_apply_every_rendered_child(operator_rbac, namespace):
    """As the ServiceAccount, server-side apply (dry run) all children of the sample: this is the
    operator's write path, and for the Patroni RoleBinding it is RBAC's bind check."""
    plane = operator_rbac
    sample = yaml.safe_load((REPO / "manifests" / "samples" / "dev.yaml").read_text())
    spec = parse_environment(sample["spec"], source="manifests/samples/dev.yaml")
    children = build_children("dev", namespace, "00000000-0000-0000-0000-000000000001", spec,
                              secret_values=generate_passwords())
    kinds = {c["kind"] for c in children}
    assert {"RoleBinding", "StatefulSet", "Secret", "Service"} <= kinds and "Role" not in kinds
    document = {"apiVersion": "v1", "kind": "List", "items": children}
    proc = plane.kubectl("apply", "--dry-run=server", "--server-side", f"--field-manager={constants.FIELD_MANAGER}",
                         "--as", SA, "-f", "-", input=json.dumps(document), check=False)
    assert proc.returncode == 0, proc.stderr
    assert len([line for line in proc.stdout.splitlines() if "(server dry run)" in line]) == len(children)


def test_escalation_check_is_real(operator_rbac, namespace):
    """Control for the test above: a Role granting more than the operator holds is refused, and
    so is a RoleBinding to any ClusterRole but the Patroni one."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "too-much", "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}]}
    proc = operator_rbac.kubectl("apply", "--dry-run=server", "--server-side", "--as", SA, "-f", "-",
                                 input=json.dumps(role), check=False)
    assert proc.returncode != 0 and "forbidden" in proc.stderr, proc.stderr
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "to-admin", "namespace": namespace},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]}
    proc = operator_rbac.kubectl("apply", "--dry-run=server", "--server-side", "--as", SA, "-f", "-",
                                 input=json.dumps(binding), check=False)
    assert proc.returncode != 0 and "attempting to grant RBAC permissions not currently held" in proc.stderr, \
        proc.stderr


def test_patroni_pods_may_patch_pods_of_their_namespace_and_nothing_else(operator_rbac, namespace):
    """The RoleBinding the operator renders, applied for real, against the shipped ClusterRole."""
    plane = operator_rbac
    spec = parse_environment({})
    children = build_children("dev", namespace, "00000000-0000-0000-0000-000000000002", spec)
    binding = next(c for c in children if c["kind"] == "RoleBinding")
    binding = {**binding, "metadata": {k: v for k, v in binding["metadata"].items() if k != "ownerReferences"}}
    plane.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(binding))
    patroni = f"system:serviceaccount:{namespace}:{binding['subjects'][0]['name']}"
    assert wait_until(lambda: _can(plane, "patch", "pods", user=patroni, namespace=namespace),
                      what="the Patroni binding to take effect")
    assert not _can(plane, "patch", "pods", user=patroni, namespace="default")
    for verb, resource in (("get", "pods"), ("delete", "pods"), ("update", "pods"), ("get", "secrets"),
                           ("get", "endpoints"), ("patch", "endpoints"), ("get", "configmaps")):
        assert not _can(plane, verb, resource, user=patroni, namespace=namespace), (verb, resource)


def _kubernetes_minor() -> str:
    go_mod = (REPO / "tools" / "controlplane" / "kubernetes" / "go.mod").read_text()
    return re.search(r"k8s\.io/kubernetes v1\.(\d+)\.", go_mod).group(1)


def test_kind_config_fields():
    config = yaml.safe_load((REPO / "manifests" / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "parity"  # tools/up.sh: kind ... --name parity, context kind-parity
    (node,) = config["nodes"]
    assert node["role"] == "control-plane"
    match = re.fullmatch(r"kindest/node:v1\.(\d+)\.\d+", node["image"])
    assert match, f"{node['image']}: pin kindest/node by tag"
    assert match.group(1) == _kubernetes_minor(), "kind node and local control plane differ in minor version"
    mappings = {m["hostPort"]: m["containerPort"] for m in node["extraPortMappings"]}
    assert mappings == {3000: 30000, 9090: 30090, 16686: 30686}
    assert all(m.get("listenAddress") == "127.0.0.1" for m in node["extraPortMappings"])


def test_kind_node_ports_are_accepted_by_the_api_server(control_plane, namespace):
    config = yaml.safe_load((REPO / "manifests" / "kind-config.yaml").read_text())
    for mapping in config["nodes"][0]["extraPortMappings"]:
        service = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": f"np-{mapping['containerPort']}", "namespace": namespace},
                   "spec": {"type": "NodePort", "selector": {"app": "x"},
                            "ports": [{"port": mapping["hostPort"], "nodePort": mapping["containerPort"]}]}}
        control_plane.kubectl("apply", "--dry-run=server", "--server-side", "-f", "-", input=json.dumps(service))
