"""How the operator and the CLI reach an environment's services, and with which credentials.

In a cluster every service is reached by the DNS names the renderers give it (one source of
truth: the naming functions in parity.render.*):

    etcd       http://<env>-etcd-<i>.<env>-etcd-peer.<ns>.svc:2379    (each member)
    Patroni    http://<env>-postgres-<i>.<env>-postgres.<ns>.svc:8008 (each member, headless Service)
    PostgreSQL <env>-postgres-primary.<ns>.svc:5432                   (follows the leader)
    Redis      <env>-redis-<i>.<env>-redis-headless.<ns>.svc:6379     (each pod)
    Sentinel   <env>-sentinel-<i>.<env>-sentinel-headless.<ns>.svc:26379

On a laptop (services port-forwarded, or run outside Kubernetes) the annotation
`parity.dev/endpoints` on the ParityEnvironment, or the environment variable PARITY_ENDPOINTS,
holds a JSON object that overrides any of these per component:

    {"etcd": ["http://127.0.0.1:2379"], "patroni": ["http://127.0.0.1:8008"],
     "postgres": "host=127.0.0.1 port=5432 dbname=postgres", "redis": ["127.0.0.1:6379"],
     "sentinel": ["127.0.0.1:26379"], "masterGroupName": "mymaster"}

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

ENDPOINTS_ANNOTATION = f"{constants.ANNOTATION_PREFIX}/endpoints"
ENDPOINTS_ENV = "PARITY_ENDPOINTS"
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

    def secrets(self) -> list[str]:
        """Every secret value, for scrubbing error messages."""
        return [s for s in (self.postgres_password, self.redis_password) if s]


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


def resolve_endpoints(
    name: str,
    namespace: str,
    spec: EnvironmentSpec,
    annotations: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServiceEndpoints:
    """Service DNS names, then the environment variable's overrides, then the annotation's (the
    most specific wins). Pure: the caller passes annotations and the process environment."""
    endpoints = build_service_endpoints(name, namespace, spec)
    env_text = (environ or {}).get(ENDPOINTS_ENV)
    if env_text:
        source = f"environment variable {ENDPOINTS_ENV}"
        endpoints = apply_overrides(endpoints, parse_endpoint_overrides(env_text, source))
    annotation_text = (annotations or {}).get(ENDPOINTS_ANNOTATION)
    if annotation_text:
        source = f"ParityEnvironment {namespace}/{name}: metadata.annotations[{ENDPOINTS_ANNOTATION}]"
        endpoints = apply_overrides(endpoints, parse_endpoint_overrides(annotation_text, source))
    return endpoints


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

    # Redis is rendered without a password (render/redis.py), so only PostgreSQL's are read here.
    return Credentials(
        postgres_user=decode(postgres_render.SUPERUSER_USERNAME_KEY)
        or postgres_render.USERNAMES[postgres_render.SUPERUSER_USERNAME_KEY],
        postgres_password=decode(postgres_render.SUPERUSER_PASSWORD_KEY),
    )


def postgres_conninfo(endpoints: ServiceEndpoints, credentials: Credentials) -> str | None:
    """The DSN to connect with, password included: build it at connection time, never log it."""
    if endpoints.postgres is None:
        return None
    user = None if conninfo_params(endpoints.postgres).get("user") else credentials.postgres_user
    return build_conninfo(endpoints.postgres, user=user, password=credentials.postgres_password)


def credentials_secret_name(env_name: str) -> str:
    return postgres_render.secret_name(env_name)
