"""Every rendered manifest, for several spec variants, is accepted by the real API server through
the operator's own write path (server-side apply, strict field validation, dry run)."""

from __future__ import annotations

import json

import pytest

from parity.api import parse_environment
from parity.kube.apply import apply_object, with_hash
from parity.kube.client import Kube
from parity.render.checks import check_combinations
from parity.render.environment import build_children
from parity.render.postgres import generate_passwords
from render_variants import VARIANTS
from support import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kube(control_plane):
    client = Kube.connect(str(control_plane.kubeconfig))
    yield client
    client.close()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_child_passes_server_side_dry_run(kube, control_plane, namespace, name):
    spec = parse_environment(VARIANTS[name], source=name)
    assert check_combinations(spec) == []
    children = build_children("dev", namespace, "00000000-0000-0000-0000-000000000042", spec,
                              secret_values=generate_passwords())
    assert children
    accepted = [apply_object(kube, with_hash(child), dry_run=True) for child in children]
    assert [(a["kind"], a["metadata"]["name"]) for a in accepted] == [(c["kind"], c["metadata"]["name"]) for c in children]
    # Nothing was stored.
    listed = control_plane.kubectl("get", "statefulsets,configmaps", "-n", namespace, "-o", "name").stdout
    assert "dev-" not in listed


def _pods_of(children: list[dict], namespace: str) -> list[dict]:
    """One Pod per workload, from its template, as its controller would create it (a
    StatefulSet's claim templates become claims): Pod Security admission judges Pods, not the
    workloads that create them."""
    pods = []
    for w in children:
        if w["kind"] not in ("StatefulSet", "Deployment"):
            continue
        spec = dict(w["spec"]["template"]["spec"])
        # Pod Security does not look at the account; the admission that checks it exists reads a
        # cache that may not have a just-created one yet.
        spec.pop("serviceAccountName", None)
        claims = [{"name": t["metadata"]["name"], "persistentVolumeClaim": {"claimName": t["metadata"]["name"]}}
                  for t in w["spec"].get("volumeClaimTemplates", [])]
        spec["volumes"] = spec.get("volumes", []) + claims
        pods.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": w["metadata"]["name"], "namespace": namespace,
                                  "labels": w["spec"]["template"]["metadata"].get("labels", {})},
                     "spec": spec})
    return pods


def test_every_pod_of_every_variant_meets_restricted(kube, control_plane, namespace):
    def allowed(pod: dict) -> tuple[bool, str]:
        proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
        return proc.returncode == 0, proc.stderr

    def canary(name: str, security: dict) -> dict:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
                "spec": {"automountServiceAccountToken": False,
                         "containers": [{"name": "c", "image": "canary", "securityContext": security}]}}

    control_plane.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
                          "--overwrite")
    # Admission reads the namespace's labels from a cache: wait until the level is in force
    # (restricted refuses even a plain pod, which baseline and privileged admit).
    wait_until(lambda: not allowed(canary("plain", {}))[0], timeout=30, what="enforce=restricted in force")
    checked, refused = set(), {}
    for variant, manifest in VARIANTS.items():
        spec = parse_environment(manifest, source=variant)
        children = build_children("dev", namespace, "00000000-0000-0000-0000-000000000042", spec,
                                  secret_values=generate_passwords())
        for pod in _pods_of(children, namespace):
            checked.add(pod["metadata"]["name"])
            passed, why = allowed(pod)
            if not passed:
                refused[f"{variant}/{pod['metadata']['name']}"] = why
    assert not refused, refused
    # Every workload there is was among them: the data tier and each observability part.
    assert {"dev-etcd", "dev-postgres", "dev-redis", "dev-sentinel", "dev-prometheus", "dev-grafana", "dev-jaeger",
            "dev-otel-collector", "dev-postgres-exporter", "dev-redis-exporter"} <= checked, checked
