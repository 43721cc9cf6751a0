"""Patroni/PostgreSQL: configuration, credentials, Services, RBAC, storage."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from parity import constants
from parity.api.models import EnvironmentSpec
from parity.render import (
    PRIMARY_ROLE,
    REPLICA_ROLE,
    ROLE_LABEL,
    build_children,
    build_patroni_config,
    build_postgres_secret,
    etcd_endpoints,
    generate_passwords,
)

ENV, NS, UID = "dev", "team-a", "uid-1"


def children(raw: dict | None = None, **kwargs) -> list[dict]:
    return build_children(ENV, NS, UID, EnvironmentSpec.model_validate(raw or {}), **kwargs)


def by_key(objs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def patroni_config(raw: dict | None = None) -> dict:
    cm = by_key(children(raw))[("ConfigMap", "dev-postgres-config")]
    return yaml.safe_load(cm["data"]["patroni.yaml"])


def statefulset(raw: dict | None = None) -> dict:
    return by_key(children(raw))[("StatefulSet", "dev-postgres")]


def container_env(raw: dict | None = None) -> dict[str, dict]:
    container = statefulset(raw)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container["env"]}


def test_patroni_config_carries_parameters_dcs_settings_and_etcd_hosts():
    config = patroni_config({
        "etcd": {"replicas": 5},
        "postgres": {
            "replicas": 2,
            "parameters": {"max_connections": "250", "shared_buffers": "256MB"},
            "patroni": {"ttl": 40, "loopWait": 5, "retryTimeout": 7, "maximumLagOnFailover": 1024,
                        "synchronousMode": True, "failsafeMode": True},
        },
    })
    dcs = config["bootstrap"]["dcs"]
    assert dcs["postgresql"]["parameters"] == {"max_connections": "250", "shared_buffers": "256MB"}
    assert dcs["synchronous_mode"] is True
    assert dcs["failsafe_mode"] is True
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"], dcs["maximum_lag_on_failover"]) == (40, 5, 7, 1024)
    assert config["etcd3"]["hosts"] == [f"dev-etcd-{i}.dev-etcd-peer.team-a.svc:2379" for i in range(5)]
    assert config["etcd3"]["protocol"] == "http"
    assert config["scope"] == ENV
    assert config["namespace"] == "/service/"
    assert config["bootstrap"]["post_init"] == "/etc/parity/postgres/post-init.sh"


def test_patroni_config_follows_etcd_endpoints():
    spec = EnvironmentSpec().postgres
    config = build_patroni_config(ENV, spec, etcd_endpoints(ENV, NS, 1))
    assert config["etcd3"]["hosts"] == ["dev-etcd-0.dev-etcd-peer.team-a.svc:2379"]


def test_patroni_reads_per_pod_values_and_credentials_from_its_env_overrides_never_inline():
    env = container_env()
    for name, key in [("PATRONI_SUPERUSER_PASSWORD", "superuser-password"),
                      ("PATRONI_REPLICATION_PASSWORD", "replication-password"),
                      ("PATRONI_SUPERUSER_USERNAME", "superuser-username"),
                      ("PATRONI_REPLICATION_USERNAME", "replication-username")]:
        assert env[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": "dev-postgres-credentials",
                                                                          "key": key}}}
    assert env["PATRONI_NAME"]["value"] == "$(POD_NAME)"
    assert env["PATRONI_POSTGRESQL_CONNECT_ADDRESS"]["value"] == "$(POD_IP):5432"
    assert env["PATRONI_RESTAPI_CONNECT_ADDRESS"]["value"] == "$(POD_IP):8008"
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    # Kubernetes expands $(VAR) only from variables defined earlier in the list.
    names = [e for e in env]
    assert names.index("POD_IP") < names.index("PATRONI_POSTGRESQL_CONNECT_ADDRESS")
    assert names.index("POD_NAME") < names.index("PATRONI_NAME")


def test_the_container_runs_patroni_on_the_rendered_file_with_everything_explicit():
    objs = by_key(children({"postgres": {"version": "17"}}))
    sts = objs[("StatefulSet", "dev-postgres")]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "/etc/parity/postgres/start.sh", "/etc/parity/postgres/patroni.yaml"]
    # Spilo's postgres ids (the local image has the same), for the whole pod: no root anywhere,
    # no init container, no capability, and the volume is the group's.
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 101, "runAsGroup": 103, "fsGroup": 103,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert "initContainers" not in pod
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True}
    # What it writes besides its data: the socket and pgpass in /tmp, shared memory in /dev/shm.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts["/tmp"]]["emptyDir"] == {"sizeLimit": "64Mi"}
    assert volumes[mounts["/dev/shm"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    assert pod["terminationGracePeriodSeconds"] == 60
    data = objs[("ConfigMap", "dev-postgres-config")]["data"]
    assert "setpriv" not in data["start.sh"] and 'exec patroni "$config"' in data["start.sh"]
    config = yaml.safe_load(data["patroni.yaml"])
    pg = config["postgresql"]
    assert pg["bin_dir"] == "/usr/lib/postgresql/17/bin"
    assert pg["data_dir"] == "/home/postgres/pgdata/data"
    assert pg["basebackup"] == [{"checkpoint": "fast"}]
    assert pg["listen"] == "0.0.0.0:5432" and config["restapi"]["listen"] == "0.0.0.0:8008"
    assert set(pg["callbacks"]) == {"on_start", "on_role_change", "on_stop"}
    assert all(path == "/etc/parity/postgres/role-callback.py" for path in pg["callbacks"].values())
    assert "host all all 0.0.0.0/0 scram-sha-256" in pg["pg_hba"]
    assert not any(" trust" in line for line in pg["pg_hba"])
    # No password in the configuration file: they come from the Secret through PATRONI_* variables.
    assert "authentication" not in pg and "password" not in data["patroni.yaml"].lower()


def test_secret_holds_usernames_and_the_given_passwords():
    passwords = {"superuser-password": "su-pass", "replication-password": "repl-pass", "app-password": "app-pass",
                 "redis-password": "redis-pass", "grafana-admin-password": "grafana-pass",
                 "patroni-rest-password": "rest-pass", "monitor-password": "monitor-pass"}
    secret = build_postgres_secret(ENV, NS, UID, passwords)
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {
        "superuser-username": "postgres", "superuser-password": "su-pass",
        "replication-username": "standby", "replication-password": "repl-pass",
        "app-username": "app", "app-password": "app-pass", "redis-password": "redis-pass",
        "grafana-admin-password": "grafana-pass", "patroni-rest-username": "patroni",
        "patroni-rest-password": "rest-pass", "monitor-username": "monitor", "monitor-password": "monitor-pass",
    }
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    assert secret["metadata"]["ownerReferences"][0]["uid"] == UID


def test_secret_refuses_missing_passwords():
    with pytest.raises(ValueError, match="app-password"):
        build_postgres_secret(ENV, NS, UID, {"superuser-password": "a", "replication-password": "b"})


def test_retained_secret_has_no_owner_so_it_outlives_the_environment_with_its_volumes():
    passwords = generate_passwords()
    secret = by_key(children({"postgres": {"storage": {"retainOnDelete": True}}}, secret_values=passwords))[
        ("Secret", "dev-postgres-credentials")]
    assert "ownerReferences" not in secret["metadata"]
    assert secret["metadata"]["labels"]["parity.dev/environment"] == ENV


def test_generate_passwords_gives_distinct_strong_values_for_every_key():
    first, second = generate_passwords(), generate_passwords()
    assert set(first) == {"superuser-password", "replication-password", "app-password", "redis-password",
                          "grafana-admin-password", "patroni-rest-password", "monitor-password"}
    assert len(set(first.values())) == 7
    assert all(len(value) >= 24 for value in first.values())
    assert first != second


def test_no_password_appears_in_any_object_but_the_secret():
    passwords = generate_passwords()
    objs = children({"observability": {"enabled": True}}, secret_values=passwords)
    assert any(o["kind"] == "Secret" for o in objs)
    needles = set(passwords.values()) | {base64.b64encode(p.encode()).decode() for p in passwords.values()}
    for obj in objs:
        text = json.dumps(obj)
        if obj["kind"] == "Secret":
            assert all(base64.b64encode(p.encode()).decode() in text for p in passwords.values())
            continue
        for needle in needles:
            assert needle not in text, f"{obj['kind']}/{obj['metadata']['name']} leaks a password"


def test_retention_policy_follows_retain_on_delete():
    assert statefulset()["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Delete", "whenScaled": "Retain"}
    retained = statefulset({"postgres": {"storage": {"retainOnDelete": True}}})
    assert retained["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_volume_claim_template_from_storage():
    claim = statefulset({"postgres": {"storage": {"size": "5Gi", "storageClassName": "fast"}}})[
        "spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "pgdata"
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                             "storageClassName": "fast"}
    default = statefulset()["spec"]["volumeClaimTemplates"][0]["spec"]
    assert "storageClassName" not in default
    assert default["resources"]["requests"]["storage"] == "1Gi"


def test_primary_and_replica_services_select_by_the_role_label():
    objs = by_key(children())
    primary = objs[("Service", "dev-postgres-primary")]["spec"]
    replicas = objs[("Service", "dev-postgres-replicas")]["spec"]
    assert (ROLE_LABEL, PRIMARY_ROLE, REPLICA_ROLE) == ("parity.dev/role", "primary", "replica")
    assert primary["selector"][ROLE_LABEL] == PRIMARY_ROLE
    assert replicas["selector"][ROLE_LABEL] == REPLICA_ROLE
    assert [p["port"] for p in primary["ports"]] == [5432]
    headless = objs[("Service", "dev-postgres")]["spec"]
    assert headless["clusterIP"] == "None"
    assert sorted(p["port"] for p in headless["ports"]) == [5432, 8008]
    assert ROLE_LABEL not in headless["selector"]
    assert objs[("StatefulSet", "dev-postgres")]["spec"]["serviceName"] == "dev-postgres"


def test_rbac_binds_the_shipped_patroni_cluster_role_and_renders_no_role():
    objs = by_key(children({"postgres": {"replicas": 2}}))
    assert not [key for key in objs if key[0] == "Role"]
    binding = objs[("RoleBinding", "dev-postgres-patroni")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "parity-patroni"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dev-postgres", "namespace": NS}]
    assert ("ServiceAccount", "dev-postgres") in objs
    pod = objs[("StatefulSet", "dev-postgres")]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "dev-postgres"


def test_shipped_patroni_cluster_role_allows_only_patching_pods():
    path = Path(__file__).resolve().parents[2] / "manifests/operator/patroni-rbac.yaml"
    (role,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert role["kind"] == "ClusterRole" and role["metadata"]["name"] == constants.PATRONI_CLUSTER_ROLE
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["patch"]}]
    kustomization = yaml.safe_load((path.parent / "kustomization.yaml").read_text())
    assert path.name in kustomization["resources"]


def test_replicas_version_and_image_override():
    sts = statefulset({"postgres": {"replicas": 1, "version": "15"}})
    assert sts["spec"]["replicas"] == 1
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/zalando/spilo-17:4.0-p3"
    config = yaml.safe_load(by_key(children({"postgres": {"version": "15"}}))[
        ("ConfigMap", "dev-postgres-config")]["data"]["patroni.yaml"])
    assert config["postgresql"]["bin_dir"] == "/usr/lib/postgresql/15/bin"
    assert sts["metadata"]["labels"]["app.kubernetes.io/version"] == "15"
    custom = statefulset({"postgres": {"image": "registry.local/spilo:mine"}})
    assert custom["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/spilo:mine"


def test_post_init_reads_app_credentials_from_files_and_keeps_them_out_of_logs():
    objs = by_key(children())
    script = objs[("ConfigMap", "dev-postgres-config")]["data"]["post-init.sh"]
    assert "/etc/parity/postgres-credentials/app-password" in script
    assert "SET log_statement = 'none'" in script
    volumes = {v["name"]: v for v in objs[("StatefulSet", "dev-postgres")]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["credentials"]["secret"]["secretName"] == "dev-postgres-credentials"
    assert {i["key"] for i in volumes["credentials"]["secret"]["items"]} == {"app-username", "app-password",
                                                                           "monitor-username", "monitor-password"}


def test_probes_use_patroni_rest_api():
    container = statefulset()["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readiness", "port": "patroni"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/liveness", "port": "patroni"}
    assert {(p["name"], p["containerPort"]) for p in container["ports"]} == {("postgresql", 5432), ("patroni", 8008)}


def test_patroni_rest_api_takes_basic_auth_from_the_secret_unless_the_secret_predates_it():
    def env(**kwargs) -> dict:
        sts = next(o for o in children(**kwargs) if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "dev-postgres")
        return {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}

    new = env()
    assert new["PATRONI_RESTAPI_USERNAME"]["valueFrom"]["secretKeyRef"] == {
        "name": "dev-postgres-credentials", "key": "patroni-rest-username"}
    assert new["PATRONI_RESTAPI_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "dev-postgres-credentials", "key": "patroni-rest-password"}
    older = env(secret_keys=frozenset({"superuser-password", "replication-password", "app-password"}))
    assert "PATRONI_RESTAPI_USERNAME" not in older and "PATRONI_RESTAPI_PASSWORD" not in older


def test_credentials_carry_patroni_basic_auth_only_when_the_secret_has_both_values():
    from parity.probes.endpoints import credentials_from_secret

    def b64(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    full = credentials_from_secret({"patroni-rest-username": b64("patroni"), "patroni-rest-password": b64("pw")})
    assert full.patroni_auth() == ("patroni", "pw") and "pw" in full.secrets() and "pw" not in repr(full)
    assert credentials_from_secret({"patroni-rest-username": b64("patroni")}).patroni_auth() is None


def test_the_monitor_role_is_created_at_bootstrap_from_mounted_files_only_when_the_secret_has_it():
    def mounted(**kwargs) -> list[str]:
        sts = next(o for o in children(**kwargs) if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "dev-postgres")
        volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "credentials")
        return [item["key"] for item in volume["secret"]["items"]]

    assert mounted() == ["app-username", "app-password", "monitor-username", "monitor-password"]
    assert mounted(secret_keys=frozenset({"superuser-password", "app-password"})) == ["app-username", "app-password"]
    script = next(o for o in children() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "dev-postgres-config")[
        "data"]["post-init.sh"]
    assert "IN ROLE pg_monitor" in script and "NOSUPERUSER" in script
    # Without the mounted file (an older Secret) the script stops after the app role, successfully.
    assert '[ -f "$credentials/monitor-password" ] && with_monitor=true' in script and "\\if :with_monitor" in script
