"""The operator's ClusterRole matches what the code does (the real API server checks the same
rules in tests/integration/test_manifests_dryrun.py): Secrets never listed, watched or deleted;
every watched child kind listable and watchable; no pod access; the Patroni ClusterRole
applied before a host-run operator starts."""

from __future__ import annotations

from pathlib import Path

import yaml

from parity import constants
from parity.handlers.children import CHILD_KINDS
from parity.kube.resources import CHILD_RESOURCES

REPO = Path(__file__).resolve().parents[2]


def rules() -> list[dict]:
    docs = [d for d in yaml.safe_load_all((REPO / "manifests/operator/rbac.yaml").read_text()) if d]
    (role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    return role["rules"]


def verbs(group: str, resource: str) -> set[str]:
    return {v for r in rules() if group in r["apiGroups"] and resource in r["resources"] and not r.get("resourceNames")
            for v in r["verbs"]}


def test_secrets_are_read_by_name_and_applied_never_enumerated_or_deleted():
    assert verbs("", "secrets") == {"get", "create", "patch"}


def test_watched_kinds_are_listable_and_written_kinds_appliable():
    for group, _version, plural in CHILD_KINDS:
        assert {"list", "watch"} <= verbs(group, plural), plural
    for resource in CHILD_RESOURCES:
        group = resource.api_version.rpartition("/")[0]
        assert {"get", "create", "patch"} <= verbs(group, resource.plural), resource.plural
        assert "update" not in verbs(group, resource.plural), resource.plural


def test_no_pod_writes_no_roles_and_bind_only_on_the_patroni_cluster_role():
    assert not verbs("", "pods")
    assert not verbs("rbac.authorization.k8s.io", "roles")
    named = [r for r in rules() if r.get("resourceNames")]
    assert named == [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"],
                      "resourceNames": [constants.PATRONI_CLUSTER_ROLE]}]


def test_up_applies_the_patroni_cluster_role_before_the_host_operator_starts():
    script = (REPO / "tools/up.sh").read_text()
    local = script[script.index('step "operator"'):]
    local = local[local.index("else"):]
    assert local.index("manifests/operator/patroni-rbac.yaml") < local.index("parity run")


def test_policy_reports_are_applied_by_name_only():
    from parity.kube.resources import POLICY_REPORTS

    group = POLICY_REPORTS.api_version.rpartition("/")[0]
    assert verbs(group, POLICY_REPORTS.plural) == {"get", "create", "patch"}
