"""PostgreSQL with Patroni, etcd as the DCS.

Objects: ServiceAccount `<env>-postgres` bound by RoleBinding `<env>-postgres-patroni` to the
shipped ClusterRole `parity-patroni`, Secret `<env>-postgres-credentials`
(only when its values are given), ConfigMap `<env>-postgres-config`, Services `<env>-postgres`
(headless), `<env>-postgres-primary`, `<env>-postgres-replicas`, StatefulSet `<env>-postgres`.

The Patroni contract: the operator renders Patroni's whole configuration (scope, restapi, etcd3,
postgresql addresses, data_dir, bin_dir, pg_hba, bootstrap.dcs, callbacks); per-pod values and
passwords come from PATRONI_* environment variables (Patroni's own override mechanism), the
passwords from the Secret. The container runs `patroni <file>` through files/patroni-start.sh, after an init container
has handed the data volume to the postgres user.
Any image with `patroni` on PATH, PostgreSQL under /usr/lib/postgresql/<major>/bin (the
Debian/Ubuntu layout), an OS user `postgres`, setpriv and python3 satisfies it: the locally
built image does, and so does Spilo. Nothing is left to image defaults.

Role label: Patroni's on_start/on_role_change/on_stop callback (files/patroni-role-callback.py)
PATCHes the pod's own `parity.dev/role` label to `primary` or `replica` (removed on stop)
with the pod's ServiceAccount; the primary and replicas Services select on that label.
"""

from __future__ import annotations

import base64
import secrets
from importlib import resources
from typing import Any

from parity import constants as c
from parity.api.models import PostgresSpec
from parity.render import images
from parity.render.common import (
    empty_dir_volume,
    read_only_root,
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
    pod_disruption_budget,
    spread_members,
    with_resources,
)

APP = "patroni"
POSTGRES_PORT = 5432
PATRONI_PORT = 8008

ROLE_LABEL = "parity.dev/role"
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
# The environment's one credentials Secret also holds Redis's password (requirepass, masterauth
# and Sentinel's requirepass/auth-pass: render/redis.py); the Secret keeps the name it was born
# with, since renaming it would orphan every existing one. A Secret generated before this key
# existed does not get it: switching running Redis and Sentinel members to a password one by one
# leaves old and new members unable to replicate or agree (measured: every member a replica, no
# primary, Sentinel's failover aborted with "no good slave"), so such an environment keeps
# running without one (Owner.has_secret) until it is created again. Grafana's admin password is
# treated alike, for one rule: a key is generated with the Secret or not at all.
REDIS_PASSWORD_KEY = "redis-password"
GRAFANA_ADMIN_PASSWORD_KEY = "grafana-admin-password"
# Basic auth of Patroni's unsafe REST endpoints (PATCH /config, POST /switchover, /restart, ...);
# Patroni sends the same credentials on its own calls to the other members.
PATRONI_REST_USERNAME_KEY = "patroni-rest-username"
PATRONI_REST_PASSWORD_KEY = "patroni-rest-password"
# The metrics exporter's role: LOGIN, member of pg_monitor, not a superuser (post-init.sh).
MONITOR_USERNAME_KEY = "monitor-username"
MONITOR_PASSWORD_KEY = "monitor-password"
PASSWORD_KEYS = (SUPERUSER_PASSWORD_KEY, REPLICATION_PASSWORD_KEY, APP_PASSWORD_KEY, REDIS_PASSWORD_KEY,
                 GRAFANA_ADMIN_PASSWORD_KEY, PATRONI_REST_PASSWORD_KEY, MONITOR_PASSWORD_KEY)
USERNAMES = {
    SUPERUSER_USERNAME_KEY: "postgres",
    REPLICATION_USERNAME_KEY: "standby",
    APP_USERNAME_KEY: "app",
    PATRONI_REST_USERNAME_KEY: "patroni",
    MONITOR_USERNAME_KEY: "monitor",
}

PATRONI_CONFIG_KEY = "patroni.yaml"
POST_INIT_KEY = "post-init.sh"
ROLE_CALLBACK_KEY = "role-callback.py"
START_KEY = "start.sh"
CONFIG_DIR = "/etc/parity/postgres"
CREDENTIALS_DIR = "/etc/parity/postgres-credentials"
DATA_VOLUME = "pgdata"
DATA_DIR = "/home/postgres/pgdata"
# The ids of the postgres user in Spilo (postgres-operator's spilo_runasuser/runasgroup) and in
# the local image; a custom image must run PostgreSQL as these too (docs/components.md).
POSTGRES_UID = 101
POSTGRES_GID = 103
TMP_SIZE_LIMIT = "64Mi"
SHM_SIZE_LIMIT = "256Mi"
TERMINATION_GRACE_SECONDS = 60
# initdb makes this below the volume's mount point: PostgreSQL wants 0700 on its own directory.
PGDATA = f"{DATA_DIR}/data"
# Debian's and Ubuntu's layout, used by the local image and by Spilo alike.
BIN_DIR_TEMPLATE = "/usr/lib/postgresql/{major}/bin"
# The local socket is where `kubectl exec ... psql` connects without a host.
SOCKET_DIR = "/var/run/postgresql"
CALLBACK_ACTIONS = ("on_start", "on_role_change", "on_stop")


def _file(name: str) -> str:
    """A script shipped beside the builders (render/files/), kept as a file so it can be read,
    linted and run on its own."""
    return resources.files("parity.render").joinpath("files", name).read_text()


def bin_dir(spec: PostgresSpec) -> str:
    return BIN_DIR_TEMPLATE.format(major=spec.version)


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
    """Patroni's whole configuration file, less what differs per pod or is secret: `name`, the
    connect addresses and the credentials come from PATRONI_* variables (see _patroni_env).

    `bootstrap.dcs` seeds the dynamic configuration when the cluster is first created; after
    that the DCS copy is authoritative and changes go through Patroni's PATCH /config.
    """
    patroni = spec.patroni
    hosts = [url.split("://", 1)[-1] for url in etcd_client_urls]
    callback = f"{CONFIG_DIR}/{ROLE_CALLBACK_KEY}"
    return {
        "scope": env_name,
        "namespace": PATRONI_DCS_NAMESPACE,
        "restapi": {"listen": f"0.0.0.0:{PATRONI_PORT}"},
        "etcd3": {"hosts": hosts, "protocol": "http"},
        "bootstrap": {
            "dcs": {
                "ttl": patroni.ttl,
                "loop_wait": patroni.loop_wait,
                "retry_timeout": patroni.retry_timeout,
                "maximum_lag_on_failover": patroni.maximum_lag_on_failover,
                "synchronous_mode": patroni.synchronous_mode,
                "failsafe_mode": patroni.failsafe_mode,
                "postgresql": {
                    "use_pg_rewind": True,
                    "parameters": dict(sorted(spec.parameters.items())),
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            "post_init": f"{CONFIG_DIR}/{POST_INIT_KEY}",
        },
        "postgresql": {
            "listen": f"0.0.0.0:{POSTGRES_PORT}",
            "data_dir": PGDATA,
            "bin_dir": bin_dir(spec),
            "pgpass": "/tmp/pgpass",
            # A new replica copies the primary at once: pg_basebackup's default spread checkpoint
            # waits up to checkpoint_completion_target × checkpoint_timeout (4.5 min) first.
            "basebackup": [{"checkpoint": "fast"}],
            "parameters": {"unix_socket_directories": "/tmp"},
            "pg_hba": [
                # kubectl exec as the postgres OS user; the app role from the Secret over TCP.
                "local all all peer",
                "host all all 127.0.0.1/32 scram-sha-256",
                "host replication all 0.0.0.0/0 scram-sha-256",
                "host all all 0.0.0.0/0 scram-sha-256",
            ],
            "callbacks": {action: callback for action in CALLBACK_ACTIONS},
        },
    }


def build_postgres_config_map(owner: Owner, spec: PostgresSpec, etcd_client_urls: list[str]) -> dict[str, Any]:
    data = {
        PATRONI_CONFIG_KEY: dump_yaml(build_patroni_config(owner.env_name, spec, etcd_client_urls)),
        POST_INIT_KEY: _file("patroni-post-init.sh"),
        ROLE_CALLBACK_KEY: _file("patroni-role-callback.py"),
        START_KEY: _file("patroni-start.sh"),
    }
    return config_map(owner, c.COMPONENT_POSTGRES, config_map_name(owner.env_name), data, app=APP)


# --- RBAC ------------------------------------------------------------------------------------

def build_postgres_rbac(owner: Owner, spec: PostgresSpec) -> list[dict[str, Any]]:
    """The pods' ServiceAccount, bound in this namespace to the shipped ClusterRole
    `parity-patroni` (constants.PATRONI_CLUSTER_ROLE, manifests/operator/patroni-rbac.yaml).

    That ClusterRole holds only what the role callback (files/patroni-role-callback.py) does
    with an etcd DCS: PATCH its own pod's labels. Patroni itself never calls the API server here
    (its state lives in etcd).
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

def post_init_keys(owner: Owner) -> list[str]:
    """The Secret keys post-init.sh reads: the app role's, and the monitor role's when the Secret
    has them (a mounted item the Secret lacks would keep the pod from starting)."""
    keys = [APP_USERNAME_KEY, APP_PASSWORD_KEY]
    if owner.has_secret(MONITOR_PASSWORD_KEY):
        keys += [MONITOR_USERNAME_KEY, MONITOR_PASSWORD_KEY]
    return keys


def _patroni_env(owner: Owner) -> list[dict[str, Any]]:
    """Patroni's per-pod settings and credentials, through its PATRONI_* overrides."""
    secret = secret_name(owner.env_name)
    return [
        env_field("POD_NAME", "metadata.name"),
        env_field("POD_NAMESPACE", "metadata.namespace"),
        env_field("POD_IP", "status.podIP"),
        env_value("PATRONI_NAME", "$(POD_NAME)"),
        env_value("PATRONI_RESTAPI_CONNECT_ADDRESS", f"$(POD_IP):{PATRONI_PORT}"),
        env_value("PATRONI_POSTGRESQL_CONNECT_ADDRESS", f"$(POD_IP):{POSTGRES_PORT}"),
        env_secret("PATRONI_SUPERUSER_USERNAME", secret, SUPERUSER_USERNAME_KEY),
        env_secret("PATRONI_SUPERUSER_PASSWORD", secret, SUPERUSER_PASSWORD_KEY),
        env_secret("PATRONI_REPLICATION_USERNAME", secret, REPLICATION_USERNAME_KEY),
        env_secret("PATRONI_REPLICATION_PASSWORD", secret, REPLICATION_PASSWORD_KEY),
        *([env_secret("PATRONI_RESTAPI_USERNAME", secret, PATRONI_REST_USERNAME_KEY),
           env_secret("PATRONI_RESTAPI_PASSWORD", secret, PATRONI_REST_PASSWORD_KEY)]
          if owner.has_secret(PATRONI_REST_PASSWORD_KEY) else []),
        env_value("PARITY_ROLE_LABEL", ROLE_LABEL),
        # psql inside the container (kubectl exec) finds the server without flags.
        env_value("PGHOST", "/tmp"),
    ]




def build_postgres_pdb(owner: Owner, spec: PostgresSpec) -> dict[str, Any]:
    """At most one member drained at a time: Patroni fails over when it is the primary, and the
    others keep a replica to promote."""
    return pod_disruption_budget(owner, c.COMPONENT_POSTGRES, statefulset_name(owner.env_name), APP, max_unavailable=1)


def build_postgres_statefulset(owner: Owner, spec: PostgresSpec) -> dict[str, Any]:
    env = owner.env_name
    container = with_resources({
        "name": "postgres",
        "image": images.postgres_image(spec, owner.images),
        "command": ["/bin/sh", f"{CONFIG_DIR}/{START_KEY}", f"{CONFIG_DIR}/{PATRONI_CONFIG_KEY}"],
        "env": _patroni_env(owner),
        "ports": [container_port("postgresql", POSTGRES_PORT), container_port("patroni", PATRONI_PORT)],
        "readinessProbe": http_probe("/readiness", "patroni", period=5),
        "livenessProbe": http_probe("/liveness", "patroni", period=10, failures=6, delay=30),
        "volumeMounts": [
            {"mountPath": DATA_DIR, "name": DATA_VOLUME},
            {"mountPath": CONFIG_DIR, "name": "config", "readOnly": True},
            {"mountPath": CREDENTIALS_DIR, "name": "credentials", "readOnly": True},
            {"mountPath": "/tmp", "name": "tmp"},
            {"mountPath": "/dev/shm", "name": "shm"},
        ],
    }, spec.resources)
    volumes = [
        {"configMap": {"defaultMode": 0o555, "name": config_map_name(env)}, "name": "config"},
        # Readable by the postgres user that runs post-init; the same container already holds
        # the superuser password in its environment, so a tighter mode would protect nothing.
        {"name": "credentials", "secret": {
            "defaultMode": 0o444, "secretName": secret_name(env),
            "items": [{"key": key, "path": key} for key in post_init_keys(owner)]}},
        # The root filesystem is read-only: the socket and Patroni's pgpass go to /tmp.
        empty_dir_volume("tmp", size_limit=TMP_SIZE_LIMIT),
        # PostgreSQL's dynamic shared memory lives in /dev/shm, which the runtime caps at 64 MiB:
        # parallel queries fail with "could not resize shared memory segment" beyond that.
        {"emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE_LIMIT}, "name": "shm"},
    ]
    storage = spec.storage
    pod = pod_spec([read_only_root(container)], volumes=volumes, service_account=service_account_name(env),
                   affinity=spread_members(owner, APP), run_as=POSTGRES_UID, run_as_group=POSTGRES_GID)
    # On SIGTERM Patroni stops PostgreSQL (a fast shutdown, after a checkpoint) and hands the
    # leader key over; the kubelet's default 30 s may cut a busy primary's checkpoint short.
    pod["terminationGracePeriodSeconds"] = TERMINATION_GRACE_SECONDS
    return statefulset(
        owner, c.COMPONENT_POSTGRES, statefulset_name(env), APP,
        # Spilo's postgres user and group, which the local image shares (images/recipes.py):
        # PostgreSQL needs a passwd entry for its user. The data volume is the group's (fsGroup),
        # or a 0777 directory from local-path-provisioner; initdb makes PGDATA, below it, 0700.
        pod,
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
    objects.append(build_postgres_pdb(owner, spec))
    return objects
