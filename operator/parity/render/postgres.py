"""PostgreSQL with Patroni (Spilo image), etcd as the DCS.

Objects: ServiceAccount `<env>-postgres` bound by RoleBinding `<env>-postgres-patroni` to the
shipped ClusterRole `parity-patroni`, Secret `<env>-postgres-credentials`
(only when its values are given), ConfigMap `<env>-postgres-config`, Services `<env>-postgres`
(headless), `<env>-postgres-primary`, `<env>-postgres-replicas`, StatefulSet `<env>-postgres`.

Role label: with a non-Kubernetes DCS, Spilo labels its own pod from Patroni's callbacks
(scripts/callback_role.py): `spilo-role` is set to the role Patroni reports, `primary` or
`replica` (Patroni 4, Spilo 4.0+), and removed when Patroni stops. The primary and replicas
Services select on that label.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from parity import constants as c
from parity.api.models import PostgresSpec
from parity.render import images
from parity.render.common import (
    Owner,
    claim_retention,
    config_map,
    container_port,
    dump_yaml,
    env_config,
    env_field,
    env_secret,
    env_value,
    http_probe,
    pod_spec,
    service,
    service_port,
    statefulset,
    volume_claim_template,
    with_resources,
)

APP = "patroni"
POSTGRES_PORT = 5432
PATRONI_PORT = 8008

ROLE_LABEL = "spilo-role"
PRIMARY_ROLE = "primary"
REPLICA_ROLE = "replica"

# Patroni's default key prefix, spelled out so that probes reading etcd need not guess it.
PATRONI_DCS_NAMESPACE = "/service/"

# Secret keys. Usernames are plain keys next to the passwords so that clients read both from one place.
SUPERUSER_USERNAME_KEY = "superuser-username"
SUPERUSER_PASSWORD_KEY = "superuser-password"
REPLICATION_USERNAME_KEY = "replication-username"
REPLICATION_PASSWORD_KEY = "replication-password"
APP_USERNAME_KEY = "app-username"
APP_PASSWORD_KEY = "app-password"
PASSWORD_KEYS = (SUPERUSER_PASSWORD_KEY, REPLICATION_PASSWORD_KEY, APP_PASSWORD_KEY)
USERNAMES = {
    SUPERUSER_USERNAME_KEY: "postgres",
    REPLICATION_USERNAME_KEY: "standby",
    APP_USERNAME_KEY: "app",
}

PATRONI_CONFIG_KEY = "patroni.yaml"
POST_INIT_KEY = "post-init.sh"
CONFIG_DIR = "/etc/parity/postgres"
CREDENTIALS_DIR = "/etc/parity/postgres-credentials"
DATA_VOLUME = "pgdata"
DATA_DIR = "/home/postgres/pgdata"


def statefulset_name(env_name: str) -> str:
    return f"{env_name}-postgres"


def headless_service_name(env_name: str) -> str:
    return f"{env_name}-postgres"


def primary_service_name(env_name: str) -> str:
    return f"{env_name}-postgres-primary"


def replicas_service_name(env_name: str) -> str:
    return f"{env_name}-postgres-replicas"


def secret_name(env_name: str) -> str:
    return f"{env_name}-postgres-credentials"


def config_map_name(env_name: str) -> str:
    return f"{env_name}-postgres-config"


def service_account_name(env_name: str) -> str:
    return f"{env_name}-postgres"


def pod_names(env_name: str, replicas: int) -> list[str]:
    return [f"{statefulset_name(env_name)}-{i}" for i in range(replicas)]


def patroni_endpoints(env_name: str, namespace: str, replicas: int) -> list[str]:
    """REST API URLs of every member (per-pod DNS through the headless Service)."""
    service = headless_service_name(env_name)
    return [f"http://{pod}.{service}.{namespace}.svc:{PATRONI_PORT}" for pod in pod_names(env_name, replicas)]


# --- credentials -----------------------------------------------------------------------------

def generate_passwords() -> dict[str, str]:
    """Fresh random passwords, one per Secret password key.

    Call only when the Secret does not exist yet: the passwords are baked into the database at
    bootstrap, so replacing them later would lock Patroni's replicas out.
    """
    return {key: secrets.token_urlsafe(24) for key in PASSWORD_KEYS}


def build_postgres_secret(
    env_name: str, namespace: str, owner_uid: str, passwords: dict[str, str], *, retain: bool = False
) -> dict[str, Any]:
    """The credentials Secret. `retain=True` (storage.retainOnDelete) leaves out the owner
    reference, so the Secret survives with the retained volumes whose roles it unlocks."""
    missing = [key for key in PASSWORD_KEYS if not passwords.get(key)]
    if missing:
        raise ValueError(f"postgres secret values: missing {', '.join(missing)}")
    values = {**USERNAMES, **{key: passwords[key] for key in PASSWORD_KEYS}}
    owner = Owner(env_name, namespace, owner_uid)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": owner.metadata(c.COMPONENT_POSTGRES, secret_name(env_name), app=APP, owned=not retain),
        "type": "Opaque",
        # `data`, not `stringData`: the API server stores only `data`, so anything else would
        # read as drift on every comparison.
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in sorted(values.items())},
    }


# --- Patroni configuration -------------------------------------------------------------------

def build_patroni_config(env_name: str, spec: PostgresSpec, etcd_client_urls: list[str]) -> dict[str, Any]:
    """The Patroni settings we own, merged by Spilo over its defaults (SPILO_CONFIGURATION wins).

    `bootstrap.dcs` seeds the dynamic configuration when the cluster is first created; after
    that the DCS copy is authoritative and changes go through Patroni's PATCH /config.
    Passwords are not here: Spilo reads them from the Secret through environment variables.
    """
    patroni = spec.patroni
    hosts = [url.split("://", 1)[-1] for url in etcd_client_urls]
    return {
        "scope": env_name,
        "namespace": PATRONI_DCS_NAMESPACE,
        "etcd3": {"hosts": hosts, "protocol": "http"},
        "bootstrap": {
            "dcs": {
                "ttl": patroni.ttl,
                "loop_wait": patroni.loop_wait,
                "retry_timeout": patroni.retry_timeout,
                "maximum_lag_on_failover": patroni.maximum_lag_on_failover,
                "synchronous_mode": patroni.synchronous_mode,
                "failsafe_mode": patroni.failsafe_mode,
                "postgresql": {"parameters": dict(sorted(spec.parameters.items()))},
            },
            "post_init": f"{CONFIG_DIR}/{POST_INIT_KEY}",
        },
    }


# The application role and database are created once, by the member that bootstraps the
# cluster. The password is read from the mounted Secret inside psql (never on a command line)
# and statement logging is switched off for the session so it cannot reach the server log.
POST_INIT_SCRIPT = f"""#!/bin/bash
# Patroni runs this once, on the member that bootstraps the cluster, with a superuser
# connection URL as its only argument. Spilo's own post-init runs first.
set -euo pipefail
/scripts/post_init.sh zalandos "$1"
psql -X -q -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\\set app_user `cat {CREDENTIALS_DIR}/{APP_USERNAME_KEY}`
\\set app_password `cat {CREDENTIALS_DIR}/{APP_PASSWORD_KEY}`
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'app_user')
\\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_user', :'app_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'app_user')
\\gexec
SQL
"""


def build_postgres_config_map(owner: Owner, spec: PostgresSpec, etcd_client_urls: list[str]) -> dict[str, Any]:
    data = {
        PATRONI_CONFIG_KEY: dump_yaml(build_patroni_config(owner.env_name, spec, etcd_client_urls)),
        POST_INIT_KEY: POST_INIT_SCRIPT,
    }
    return config_map(owner, c.COMPONENT_POSTGRES, config_map_name(owner.env_name), data, app=APP)


# --- RBAC ------------------------------------------------------------------------------------

def build_postgres_rbac(owner: Owner, spec: PostgresSpec) -> list[dict[str, Any]]:
    """The pods' ServiceAccount, bound in this namespace to the shipped ClusterRole
    `parity-patroni` (constants.PATRONI_CLUSTER_ROLE, manifests/operator/patroni-rbac.yaml).

    That ClusterRole holds only what Spilo's role callback does with an etcd DCS: PATCH its own
    pod's labels. Patroni itself never calls the API server here (its state lives in etcd). The
    callback also tries to PATCH an Endpoints object named after the scope, but only for the
    role value `master`, which Patroni 4 no longer reports; no Endpoints access is granted.
    A pre-made ClusterRole, not a Role per environment: to create a Role the operator would have
    to hold every permission in it (RBAC's escalation check); to bind a ClusterRole it needs
    only `bind` on that one name. The price: a ClusterRole cannot name each environment's pods,
    so the grant covers pods of the namespace it is bound in.
    The RoleBinding's name differs from the `<env>-postgres` Role binding of earlier versions
    because a RoleBinding's roleRef cannot be changed in place.
    """
    name = service_account_name(owner.env_name)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": owner.metadata(c.COMPONENT_POSTGRES, name, app=APP),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": owner.metadata(c.COMPONENT_POSTGRES, role_binding_name(owner.env_name), app=APP),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": c.PATRONI_CLUSTER_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": owner.namespace}],
        },
    ]


def role_binding_name(env_name: str) -> str:
    return f"{service_account_name(env_name)}-patroni"


# --- Services --------------------------------------------------------------------------------

def build_postgres_services(owner: Owner) -> list[dict[str, Any]]:
    env = owner.env_name
    return [
        # Per-member DNS for the StatefulSet; not-ready members stay resolvable so that their
        # REST API and metrics can be read while they are catching up.
        service(owner, c.COMPONENT_POSTGRES, headless_service_name(env), APP,
                [service_port("postgresql", POSTGRES_PORT), service_port("patroni", PATRONI_PORT)],
                headless=True, publish_not_ready=True),
        service(owner, c.COMPONENT_POSTGRES, primary_service_name(env), APP,
                [service_port("postgresql", POSTGRES_PORT)],
                selector={**owner.selector(APP), ROLE_LABEL: PRIMARY_ROLE}),
        service(owner, c.COMPONENT_POSTGRES, replicas_service_name(env), APP,
                [service_port("postgresql", POSTGRES_PORT)],
                selector={**owner.selector(APP), ROLE_LABEL: REPLICA_ROLE}),
    ]


# --- StatefulSet -----------------------------------------------------------------------------

def _spilo_env(owner: Owner, spec: PostgresSpec) -> list[dict[str, Any]]:
    secret = secret_name(owner.env_name)
    return [
        env_value("SCOPE", owner.env_name),
        env_value("PGVERSION", spec.version),
        env_value("PGROOT", f"{DATA_DIR}/pgroot"),
        env_field("POD_IP", "status.podIP"),
        env_field("POD_NAMESPACE", "metadata.namespace"),
        env_secret("PGUSER_SUPERUSER", secret, SUPERUSER_USERNAME_KEY),
        env_secret("PGPASSWORD_SUPERUSER", secret, SUPERUSER_PASSWORD_KEY),
        env_secret("PGUSER_STANDBY", secret, REPLICATION_USERNAME_KEY),
        env_secret("PGPASSWORD_STANDBY", secret, REPLICATION_PASSWORD_KEY),
        env_config("SPILO_CONFIGURATION", config_map_name(owner.env_name), PATRONI_CONFIG_KEY),
    ]


def build_postgres_statefulset(owner: Owner, spec: PostgresSpec) -> dict[str, Any]:
    env = owner.env_name
    container = with_resources({
        "name": "postgres",
        "image": images.postgres_image(spec),
        "env": _spilo_env(owner, spec),
        "ports": [container_port("postgresql", POSTGRES_PORT), container_port("patroni", PATRONI_PORT)],
        "readinessProbe": http_probe("/readiness", "patroni", period=5),
        "livenessProbe": http_probe("/liveness", "patroni", period=10, failures=6, delay=30),
        "volumeMounts": [
            {"mountPath": DATA_DIR, "name": DATA_VOLUME},
            {"mountPath": CONFIG_DIR, "name": "config", "readOnly": True},
            {"mountPath": CREDENTIALS_DIR, "name": "credentials", "readOnly": True},
        ],
    }, spec.resources)
    volumes = [
        {"configMap": {"defaultMode": 0o555, "items": [{"key": POST_INIT_KEY, "path": POST_INIT_KEY}],
                       "name": config_map_name(env)}, "name": "config"},
        # Readable by the postgres user that runs post-init; the same container already holds
        # the superuser password in its environment, so a tighter mode would protect nothing.
        {"name": "credentials", "secret": {
            "defaultMode": 0o444, "secretName": secret_name(env),
            "items": [{"key": APP_USERNAME_KEY, "path": APP_USERNAME_KEY},
                      {"key": APP_PASSWORD_KEY, "path": APP_PASSWORD_KEY}]}},
    ]
    storage = spec.storage
    return statefulset(
        owner, c.COMPONENT_POSTGRES, statefulset_name(env), APP,
        pod_spec([container], volumes=volumes, service_account=service_account_name(env)),
        replicas=spec.replicas,
        service_name=headless_service_name(env),
        version=spec.version,
        claims=[volume_claim_template(owner, APP, DATA_VOLUME, storage.size,
                                      storage_class=storage.storage_class_name)],
        # A member scaled away and back keeps its data and rejoins as a replica quickly.
        retention=claim_retention(retain_on_delete=storage.retain_on_delete, retain_on_scale=True),
    )


def build_postgres(
    owner: Owner, spec: PostgresSpec, etcd_client_urls: list[str], *, secret_values: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    objects = build_postgres_rbac(owner, spec)
    if secret_values is not None:
        objects.append(build_postgres_secret(owner.env_name, owner.namespace, owner.uid, secret_values,
                                             retain=spec.storage.retain_on_delete))
    objects.append(build_postgres_config_map(owner, spec, etcd_client_urls))
    objects.extend(build_postgres_services(owner))
    objects.append(build_postgres_statefulset(owner, spec))
    return objects
