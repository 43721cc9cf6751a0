"""The CRDs against a real kube-apiserver: they install, accept what we ship, fill in the same
defaults as the Python models, and refuse malformed specs with an error that names the field.

Unknown fields are only refused under strict field validation, so every request here uses
`--validate=strict` (the API server prunes unknown fields otherwise, see docs/crd-reference.md).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from parity import constants as c
from parity.api.errors import parse_baseline, parse_environment
from parity.api.models import BaselineSpec, EnvironmentSpec
from parity.crds import CRD_FILES

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"
CRD_NAMES = [f"{c.ENVIRONMENT_PLURAL}.{c.GROUP}", f"{c.BASELINE_PLURAL}.{c.GROUP}"]
MANAGER = "parity-schema-test"
MALFORMED = yaml.safe_load((REPO / "tests" / "data" / "malformed-specs.yaml").read_text())
SHIPPED = {
    "manifests/samples/dev.yaml": parse_environment,
    "baselines/production.yaml": parse_baseline,
    "baselines/staging.yaml": parse_baseline,
}


@pytest.fixture(scope="module")
def kube(control_plane):
    """The control plane with both CRDs applied and Established. The files are named one by one:
    `-f crds/` would also read crds/kustomization.yaml, which is not a Kubernetes object."""
    files = [arg for name in CRD_FILES.values() for arg in ("-f", str(CRD_DIR / name))]
    control_plane.kubectl("apply", "--server-side", "--force-conflicts", f"--field-manager={MANAGER}", *files)
    control_plane.wait_established(
                          *(f"crd/{name}" for name in CRD_NAMES))
    return control_plane


@pytest.fixture(scope="module")
def namespace(kube):
    name = f"parity-schema-{uuid.uuid4().hex[:8]}"
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def manifest_for(kind: str, name: str, spec: dict | None, namespace: str | None) -> dict:
    metadata: dict = {"name": name}
    if kind == c.ENVIRONMENT_KIND:
        metadata["namespace"] = namespace
    manifest = {"apiVersion": c.API_VERSION, "kind": kind, "metadata": metadata}
    if spec is not None:
        manifest["spec"] = spec
    return manifest


def dry_run_apply(kube, manifest: dict):
    return kube.kubectl("apply", "--server-side", "--dry-run=server", "--validate=strict",
                        f"--field-manager={MANAGER}", "-o", "json", "-f", "-",
                        input=json.dumps(manifest), check=False)


# --- installation --------------------------------------------------------------------------------


@pytest.mark.parametrize("crd", CRD_NAMES)
def test_crd_is_established_with_its_names(kube, crd):
    body = json.loads(kube.kubectl("get", f"crd/{crd}", "-o", "json").stdout)
    conditions = {cond["type"]: cond["status"] for cond in body["status"]["conditions"]}
    assert conditions.get("Established") == "True" and conditions.get("NamesAccepted") == "True", conditions
    assert body["status"]["acceptedNames"]["categories"] == [c.CATEGORY]


def test_kustomization_renders_every_crd(kube):
    rendered = list(yaml.safe_load_all(kube.kubectl("kustomize", str(CRD_DIR)).stdout))
    generated = sorted(yaml.safe_load((CRD_DIR / f).read_text())["metadata"]["name"] for f in CRD_FILES.values())
    assert sorted(doc["metadata"]["name"] for doc in rendered) == generated
    assert set(CRD_NAMES) <= set(generated)


# --- what we ship is accepted, and defaulted like the models do it -------------------------------


@pytest.mark.parametrize("relative", list(SHIPPED))
def test_shipped_manifest_is_accepted_and_defaulted_like_the_model(kube, namespace, relative):
    manifest = yaml.safe_load((REPO / relative).read_text())
    if manifest["kind"] == c.ENVIRONMENT_KIND:
        manifest["metadata"]["namespace"] = namespace
    result = dry_run_apply(kube, manifest)
    assert result.returncode == 0, result.stderr
    stored = json.loads(result.stdout)
    assert stored["spec"] == SHIPPED[relative](manifest["spec"], relative).to_wire()


@pytest.mark.parametrize("kind, model", [(c.ENVIRONMENT_KIND, EnvironmentSpec), (c.BASELINE_KIND, BaselineSpec)])
def test_missing_spec_gets_the_model_defaults(kube, namespace, kind, model):
    result = dry_run_apply(kube, manifest_for(kind, "defaults", None, namespace))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["spec"] == model().to_wire()


# --- malformed specs are refused, naming the field -----------------------------------------------


@pytest.mark.parametrize("case", MALFORMED, ids=[case["id"] for case in MALFORMED])
def test_malformed_spec_is_refused_naming_the_field(kube, namespace, case):
    kind = c.ENVIRONMENT_KIND if case["kind"] == "environment" else c.BASELINE_KIND
    name = case.get("name", f"bad-{case['id']}")
    result = dry_run_apply(kube, manifest_for(kind, name, case["spec"], namespace))
    assert result.returncode != 0, f"accepted: {result.stdout[:300]}"
    assert case["field"] in result.stderr, result.stderr
    assert case.get("message", "") in result.stderr, result.stderr


@pytest.mark.parametrize("kind, spec", [
    (c.ENVIRONMENT_KIND, {"postgres": {"storage": {"size": "1.5Gi", "storageClassName": "fast-ssd.example"},
                                       "parameters": {"shared_preload_libraries": "'pg_stat_statements'",
                                                      "pg_stat_statements.track": "all"}},
                          "redis": {"image": "registry.local:5000/redis@sha256:0123",
                                    "config": {"save": "900 1 300 10", "maxmemory": "1e9"},
                                    "resources": {"requests": {"cpu": ".5", "memory": "512Mi"}}}}),
    (c.BASELINE_KIND, {"environment": {"etcd": {"resources": {"limits": {"cpu": "1500m", "memory": "1E3"}}}}}),
])
def test_well_formed_edge_values_are_accepted(kube, namespace, kind, spec):
    """The tightened patterns and rules still let through what the workloads do take."""
    name = "a" * 43 if kind == c.ENVIRONMENT_KIND else "edge-values"
    result = dry_run_apply(kube, manifest_for(kind, name, spec, namespace))
    assert result.returncode == 0, result.stderr


def test_create_with_strict_validation_refuses_an_unknown_field(kube, namespace):
    manifest = manifest_for(c.ENVIRONMENT_KIND, "typo", {"etcd": {"replica": 3}}, namespace)
    result = kube.kubectl("create", "--dry-run=server", "--validate=strict", "-f", "-",
                          input=json.dumps(manifest), check=False)
    assert result.returncode != 0
    assert "spec.etcd.replica" in result.stderr, result.stderr


def test_unknown_field_is_pruned_without_strict_validation(kube, namespace):
    """Why the docs insist on --validate=strict: without it, a typo silently disappears."""
    manifest = manifest_for(c.ENVIRONMENT_KIND, "typo", {"etcd": {"replica": 1}}, namespace)
    result = kube.kubectl("create", "--dry-run=server", "--validate=false", "-o", "json", "-f", "-",
                          input=json.dumps(manifest), check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["spec"]["etcd"] == {"replicas": 3, "version": "3.5.17"}


# --- status and printer columns ------------------------------------------------------------------

STATUS = {
    "observedGeneration": 1,
    "phase": "Degraded",
    "conditions": [
        {"type": "Ready", "status": "False", "reason": "Drifted", "message": "2 warnings",
         "lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": 1},
        {"type": "Drifted", "status": "True", "reason": "WarningDrift", "message": "",
         "lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": 1},
    ],
    "components": {"etcd": {"ready": 3, "desired": 3}, "postgres": {"ready": 2, "desired": 3},
                   "redis": {"ready": 3, "desired": 3}, "sentinel": {"ready": 3, "desired": 3},
                   "observability": {"ready": 0, "desired": 4}},
    "drift": {
        "baseline": "production", "baselineGeneration": 1, "observedGeneration": 1,
        "checkedAt": "2025-01-01T00:05:00Z", "firstDetectedAt": "2025-01-01T00:00:00Z", "highestSeverity": "warning",
        "summary": {"critical": 0, "warning": 2, "info": 5}, "truncated": 0,
        "findings": [{"path": "postgres.parameters.shared_buffers", "component": "postgres", "level": "declared",
                      "change": "modified", "local": "128MB", "baseline": "256MB", "severity": "warning",
                      "remediation": "Set spec.postgres.parameters.shared_buffers to \"256MB\""}],
    },
}


@pytest.fixture(scope="module")
def environment(kube, namespace):
    """The sample, created for real (with a status) in the test namespace."""
    manifest = yaml.safe_load((REPO / "manifests/samples/dev.yaml").read_text())
    kube.kubectl("apply", "--server-side", "--validate=strict", f"--field-manager={MANAGER}", "-n", namespace,
                 "-f", "-", input=json.dumps(manifest))
    yield manifest["metadata"]["name"]
    kube.kubectl("delete", c.ENVIRONMENT_SHORT_NAME, manifest["metadata"]["name"], "-n", namespace,
                 "--wait=false", check=False)


def apply_status(kube, namespace, name, status, *extra):
    # Server-side apply, as the operator writes status; `kubectl patch` cannot ask for strict validation.
    manifest = {"apiVersion": c.API_VERSION, "kind": c.ENVIRONMENT_KIND,
                "metadata": {"name": name, "namespace": namespace}, "status": status}
    return kube.kubectl("apply", "--server-side", "--subresource=status", "--validate=strict",
                        f"--field-manager={MANAGER}", "-o", "json", "-f", "-", *extra,
                        input=json.dumps(manifest), check=False)


def test_status_in_the_operator_shape_is_accepted_and_shown(kube, namespace, environment):
    result = apply_status(kube, namespace, environment, STATUS)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == STATUS
    table = kube.kubectl("get", c.ENVIRONMENT_SHORT_NAME, environment, "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "READY", "DRIFT", "CRITICAL", "WARNINGS", "BASELINE", "AGE"]
    assert table[1].split()[:7] == [environment, "Degraded", "False", "warning", "0", "2", "production"]


@pytest.mark.parametrize("status, field", [
    ({"phase": "Running"}, "status.phase"),
    ({"conditions": [{"type": "Ready", "status": "Yes"}]}, "status.conditions[0].status"),
    ({"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "yesterday"}]},
     "status.conditions[0].lastTransitionTime"),
    ({"drift": {"highestSeverity": "fatal"}}, "status.drift.highestSeverity"),
    ({"drift": {"findings": [{"path": "etcd.replicas", "level": "declared", "change": "modified"}]}},
     "status.drift.findings[0].severity"),
    ({"drift": {"summary": {"critical": "none"}}}, "status.drift.summary.critical"),
    ({"components": {"etcd": {"ready": -1, "desired": 3}}}, "status.components.etcd.ready"),
    ({"components": {"kafka": {"ready": 1, "desired": 1}}}, "status.components.kafka"),
])
def test_malformed_status_is_refused(kube, namespace, environment, status, field):
    # --force-conflicts: an operator of another test may have written this status meanwhile, and
    # a conflict with it would hide the validation error this test is about (a dry run: no write).
    result = apply_status(kube, namespace, environment, status, "--dry-run=server", "--force-conflicts")
    assert result.returncode != 0, result.stdout[:300]
    assert field in result.stderr, result.stderr


def test_category_lists_environments(kube, namespace, environment):
    listed = kube.kubectl("get", c.CATEGORY, "-n", namespace, "-o", "name").stdout.split()
    assert f"{c.ENVIRONMENT_KIND.lower()}.{c.GROUP}/{environment}" in listed


def test_get_pbl_prints_baseline_columns(kube):
    manifest = yaml.safe_load((REPO / "baselines/staging.yaml").read_text())
    name = f"schema-test-{uuid.uuid4().hex[:8]}"
    manifest["metadata"]["name"] = name
    kube.kubectl("apply", "--server-side", "--validate=strict", f"--field-manager={MANAGER}", "-f", "-",
                 input=json.dumps(manifest))
    try:
        table = kube.kubectl("get", c.BASELINE_SHORT_NAME, name).stdout.splitlines()
        assert table[0].split() == ["NAME", "DEFAULT", "DESCRIPTION", "AGE"]
        assert table[1].split()[:3] == [name, manifest["spec"]["defaultSeverity"], "Staging"]
    finally:
        kube.kubectl("delete", c.BASELINE_SHORT_NAME, name, "--wait=false", check=False)
