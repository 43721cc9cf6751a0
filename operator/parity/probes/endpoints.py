"""How the operator and the CLI reach an environment's services, and with which credentials.

In a cluster every service is reached by the DNS names the renderers give it (one source of
truth: the naming functions in parity.render.*):

    etcd       http://<env>-etcd-<i>.<env>-etcd-peer.<ns>.svc:2379    (each member)
    Patroni    http://<env>-postgres-<i>.<env>-postgres.<ns>.svc:8008 (each member, headless Service)
    PostgreSQL <env>-postgres-primary.<ns>.svc:5432                   (follows the leader)
    Redis      <env>-redis-<i>.<env>-redis-headless.<ns>.svc:6379     (each pod)
    Sentinel   <env>-sentinel-<i>.<env>-sentinel-headless.<ns>.svc:26379

Overrides, for development outside the cluster (services port-forwarded), come only from the
configuration of whoever runs the process: the environment variable PARITY_ENDPOINTS (JSON
text) or PARITY_ENDPOINTS_FILE (a JSON file; `parity run --endpoints FILE` sets it). It maps
"<namespace>/<name>" to an object that overrides any of the addresses above per component:

    {"default/dev": {"etcd": ["http://127.0.0.1:2379"], "patroni": ["http://127.0.0.1:8008"],
                     "postgres": "host=127.0.0.1 port=5432 dbname=postgres",
                     "redis": ["127.0.0.1:6379"], "sentinel": ["127.0.0.1:26379"],
                     "masterGroupName": "mymaster"}}

Nothing a namespace user can write redirects the probes: earlier versions also read an
annotation on the ParityEnvironment, which let anyone who may edit it send the superuser
password to a host of their choice; it is ignored now.

Credentials come from the environment's Secret (`<env>-postgres-credentials`, keys
superuser-username / superuser-password), read by the caller and passed in here; they live in
a `Credentials` whose repr hides them, and are joined to a DSN only at connection time.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from parity import constants
from parity.api.models import EnvironmentSpec
from parity.render import etcd as etcd_render
from parity.render import postgres as postgres_render
from parity.render import redis as redis_render
from parity.probes.support import build_conninfo, conninfo_params, format_address

ENDPOINTS_ENV = "PARITY_ENDPOINTS"
ENDPOINTS_FILE_ENV = "PARITY_ENDPOINTS_FILE"
OVERRIDE_KEYS = ("etcd", "patroni", "postgres", "redis", "sentinel", "masterGroupName")


class EndpointError(ValueError):
    """An endpoint override that cannot be used; the message names where it came from and the field."""


@dataclass(frozen=True)
class ServiceEndpoints:
    """Where each service answers. `postgres` is a DSN without a password (host optional:
    without one, probes connect to the leader Patroni names)."""

    etcd: tuple[str, ...] = ()
    patroni: tuple[str, ...] = ()
    postgres: str | None = None
    redis: tuple[str, ...] = ()
    sentinel: tuple[str, ...] = ()
    master_group_name: str = "mymaster"


@dataclass(frozen=True)
class Credentials:
    postgres_user: str = "postgres"
    postgres_password: str | None = field(default=None, repr=False)
    redis_password: str | None = field(default=None, repr=False)
    patroni_rest_user: str | None = None
    patroni_rest_password: str | None = field(default=None, repr=False)

    def secrets(self) -> list[str]:
        """Every secret value, for scrubbing error messages."""
        return [s for s in (self.postgres_password, self.redis_password, self.patroni_rest_password) if s]

    def patroni_auth(self) -> tuple[str, str] | None:
        """Basic auth for Patroni's unsafe REST endpoints, when the environment has it."""
        if self.patroni_rest_user and self.patroni_rest_password:
            return self.patroni_rest_user, self.patroni_rest_password
        return None


def build_service_endpoints(name: str, namespace: str, spec: EnvironmentSpec) -> ServiceEndpoints:
    """The in-cluster endpoints of an environment, from the renderers' naming functions. Pure."""
    primary = postgres_render.primary_service_name(name)
    return ServiceEndpoints(
        etcd=tuple(etcd_render.etcd_endpoints(name, namespace, spec.etcd.replicas)),
        patroni=tuple(postgres_render.patroni_endpoints(name, namespace, spec.postgres.replicas)),
        postgres=f"host={primary}.{namespace}.svc port={postgres_render.POSTGRES_PORT} dbname=postgres",
        redis=tuple(
            format_address(host, redis_render.REDIS_PORT)
            for host in redis_render.redis_hosts(name, namespace, spec.redis)
        ),
        sentinel=tuple(
            format_address(host, redis_render.SENTINEL_PORT)
            for host in redis_render.sentinel_hosts(name, namespace, spec.redis)
        ),
        master_group_name=spec.redis.sentinel.master_group_name,
    )


def parse_endpoint_overrides(text: str, source: str) -> dict[str, Any]:
    """The JSON override object, checked; EndpointError names `source` and the bad field."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise EndpointError(f"{source}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise EndpointError(f"{source}: must be a JSON object with keys {', '.join(OVERRIDE_KEYS)}")
    unknown = sorted(set(data) - set(OVERRIDE_KEYS))
    if unknown:
        raise EndpointError(f"{source}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(OVERRIDE_KEYS)}")
    for key in ("etcd", "patroni", "redis", "sentinel"):
        if key in data:
            value = data[key]
            if isinstance(value, str):
                data[key] = [value]
            elif not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
                raise EndpointError(f"{source}: {key}: must be a list of endpoint strings")
    for key in ("postgres", "masterGroupName"):
        if key in data and not isinstance(data[key], str):
            raise EndpointError(f"{source}: {key}: must be a string")
    if "postgres" in data and "password" in data["postgres"].lower():
        raise EndpointError(f"{source}: postgres: must not contain a password (it comes from the Secret)")
    return data


def apply_overrides(endpoints: ServiceEndpoints, overrides: Mapping[str, Any]) -> ServiceEndpoints:
    changes: dict[str, Any] = {}
    for key in ("etcd", "patroni", "redis", "sentinel"):
        if key in overrides:
            changes[key] = tuple(overrides[key])
    if "postgres" in overrides:
        changes["postgres"] = overrides["postgres"]
    if "masterGroupName" in overrides:
        changes["master_group_name"] = overrides["masterGroupName"]
    return replace(endpoints, **changes)


def parse_endpoint_map(text: str, source: str) -> dict[str, dict[str, Any]]:
    """{"<namespace>/<name>": overrides}, every entry checked; EndpointError names `source`,
    the key and the field."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise EndpointError(f"{source}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise EndpointError(f'{source}: must be a JSON object mapping "<namespace>/<name>" to endpoint overrides')
    overrides = {}
    for key, value in data.items():
        namespace, _, name = key.partition("/")
        if not namespace or not name or "/" in name:
            raise EndpointError(f'{source}: key {key!r}: must be "<namespace>/<name>" of a ParityEnvironment')
        overrides[key] = parse_endpoint_overrides(json.dumps(value), f"{source}: {key}")
    return overrides


def load_endpoint_map(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The overrides configured for this process (PARITY_ENDPOINTS, else PARITY_ENDPOINTS_FILE);
    empty when neither is set. EndpointError names the variable or file."""
    text = environ.get(ENDPOINTS_ENV)
    if text:
        return parse_endpoint_map(text, f"environment variable {ENDPOINTS_ENV}")
    path = environ.get(ENDPOINTS_FILE_ENV)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as err:
            raise EndpointError(f"{path} ({ENDPOINTS_FILE_ENV}): cannot read: {err.strerror or err}") from None
        return parse_endpoint_map(text, path)
    return {}


def resolve_endpoints(
    name: str,
    namespace: str,
    spec: EnvironmentSpec,
    endpoint_map: Mapping[str, Mapping[str, Any]] | None = None,
) -> ServiceEndpoints:
    """The Service DNS names the operator renders, then this environment's entry of the
    process's own override map, if any. Pure: the caller loads the map (load_endpoint_map)."""
    endpoints = build_service_endpoints(name, namespace, spec)
    overrides = (endpoint_map or {}).get(f"{namespace}/{name}")
    return apply_overrides(endpoints, overrides) if overrides else endpoints


def overridden_components(namespace: str, name: str,
                          endpoint_map: Mapping[str, Mapping[str, Any]] | None) -> frozenset[str]:
    """Override keys configured for one environment (they are trusted: the operator's own config)."""
    return frozenset((endpoint_map or {}).get(f"{namespace}/{name}") or {})


def credentials_from_secret(data: Mapping[str, str] | None) -> Credentials:
    """Credentials from a Secret's `data` (base64 values, as the API returns them). Pure."""
    data = data or {}

    def decode(key: str) -> str | None:
        value = data.get(key)
        if not value:
            return None
        try:
            return base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            return None

    return Credentials(
        postgres_user=decode(postgres_render.SUPERUSER_USERNAME_KEY)
        or postgres_render.USERNAMES[postgres_render.SUPERUSER_USERNAME_KEY],
        postgres_password=decode(postgres_render.SUPERUSER_PASSWORD_KEY),
        # Redis and Sentinel share one password (render/redis.py).
        redis_password=decode(postgres_render.REDIS_PASSWORD_KEY),
        patroni_rest_user=decode(postgres_render.PATRONI_REST_USERNAME_KEY),
        patroni_rest_password=decode(postgres_render.PATRONI_REST_PASSWORD_KEY),
    )


def postgres_conninfo(endpoints: ServiceEndpoints, credentials: Credentials) -> str | None:
    """The DSN to connect with, password included: build it at connection time, never log it."""
    if endpoints.postgres is None:
        return None
    user = None if conninfo_params(endpoints.postgres).get("user") else credentials.postgres_user
    return build_conninfo(endpoints.postgres, user=user, password=credentials.postgres_password)


def credentials_secret_name(env_name: str) -> str:
    return postgres_render.secret_name(env_name)
