"""The operator's own manifests against the real API server (the local control plane).

- `kubectl apply --dry-run=server --server-side -k manifests/operator` is accepted, and the
  Deployment passes the namespace's restricted Pod Security level without a warning;
- the ClusterRole is enough: impersonating the operator's ServiceAccount, every child the
  renderers produce for the sample (Roles included, which RBAC only lets a holder of the same
  permissions create) is accepted by a server-side dry-run apply, and kopf's reads work;
- and it is not more than that: no wildcards, no access to nodes, cluster roles or deletion of
  environments;
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
    for name in ("serviceaccount.yaml", "rbac.yaml"):
        plane.kubectl("apply", "--server-side", "-f", str(OPERATOR_DIR / name))
    yield plane
    plane.kubectl("delete", "-f", str(OPERATOR_DIR / "rbac.yaml"), "--wait=false", check=False)
    plane.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def test_operator_manifests_pass_server_side_dry_run(operator_rbac):
    proc = operator_rbac.kubectl("apply", "--dry-run=server", "--server-side", "-k", str(OPERATOR_DIR))
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    expected = {"namespace/parity-system", "serviceaccount/parity-operator",
                "clusterrole.rbac.authorization.k8s.io/parity-operator",
                "clusterrolebinding.rbac.authorization.k8s.io/parity-operator",
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
        assert "escalate" not in rule["verbs"] and "bind" not in rule["verbs"], rule


def _can(plane, verb: str, resource: str) -> bool:
    resource, _, subresource = resource.partition("/")
    args = ["auth", "can-i", verb, resource, "--as", SA, "--all-namespaces"]
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
    ("create", "events"),
    ("watch", "statefulsets.apps"),
    ("watch", "secrets"),
    ("list", "pods"),
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
])
def test_operator_cannot_do_more(operator_rbac, verb, resource):
    assert not _can(operator_rbac, verb, resource)


def test_operator_can_apply_every_rendered_child(operator_rbac, namespace):
    """As the ServiceAccount, server-side apply (dry run) all children of the sample: this is the
    operator's write path, and for the Roles it is RBAC's escalation check."""
    plane = operator_rbac
    sample = yaml.safe_load((REPO / "manifests" / "samples" / "dev.yaml").read_text())
    spec = parse_environment(sample["spec"], source="manifests/samples/dev.yaml")
    children = build_children("dev", namespace, "00000000-0000-0000-0000-000000000001", spec,
                              secret_values=generate_passwords())
    kinds = {c["kind"] for c in children}
    assert {"Role", "RoleBinding", "StatefulSet", "Secret", "Service"} <= kinds
    # Roles for real first, as the operator orders them: a RoleBinding is checked against the
    # Role it names, which a dry run would not have created.
    # Without their owner reference: the garbage collector deletes objects whose owner (this
    # made-up environment uid) does not exist, and would race the dry run below.
    real_roles = [{**c, "metadata": {k: v for k, v in c["metadata"].items() if k != "ownerReferences"}}
                  for c in children if c["kind"] == "Role"]
    roles = {"apiVersion": "v1", "kind": "List", "items": real_roles}
    plane.kubectl("apply", "--server-side", f"--field-manager={constants.FIELD_MANAGER}", "--as", SA, "-f", "-",
                  input=json.dumps(roles))
    document = {"apiVersion": "v1", "kind": "List", "items": children}
    proc = plane.kubectl("apply", "--dry-run=server", "--server-side", f"--field-manager={constants.FIELD_MANAGER}",
                         "--as", SA, "-f", "-", input=json.dumps(document), check=False)
    assert proc.returncode == 0, proc.stderr
    assert len([line for line in proc.stdout.splitlines() if "(server dry run)" in line]) == len(children)


def test_escalation_check_is_real(operator_rbac, namespace):
    """Control for the test above: a Role granting more than the operator holds is refused."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "too-much", "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}]}
    proc = operator_rbac.kubectl("apply", "--dry-run=server", "--server-side", "--as", SA, "-f", "-",
                                 input=json.dumps(role), check=False)
    assert proc.returncode != 0 and "attempting to grant RBAC permissions not currently held" in proc.stderr, \
        proc.stderr


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
