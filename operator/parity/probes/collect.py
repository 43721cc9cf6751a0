"""Run the probes an environment needs, concurrently, and find its endpoints in a cluster.

`probe_services` is what the operator's runtime level and `parity inspect` share: endpoints and
credentials in, one ProbeResult per component out. `parameter_names` / `config_keys` say which
PostgreSQL parameters and Redis keys to read: those the spec or the baseline mention
(`names_to_probe`), so that the runtime level compares exactly what was declared.

`probe_environment(kube, body)` is the whole runtime level for one ParityEnvironment, for the
operator's timer (a sync kopf handler, so it runs the async probes with asyncio.run).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any, Iterable, Mapping

from parity import constants
from parity.api import BaselineSpec, EnvironmentSections, EnvironmentSpec, SpecError, parse_environment
from parity.kube import resources
from parity.kube.ownership import is_owned_child
from parity.probes.base import ProbeResult
from parity.probes.endpoints import (
    Credentials,
    EndpointError,
    ServiceEndpoints,
    credentials_from_secret,
    credentials_secret_name,
    load_endpoint_map,
    overridden_components,
    postgres_conninfo,
    resolve_endpoints,
)
from parity.probes.etcd import probe_etcd
from parity.probes.patroni import probe_patroni
from parity.probes.redis import probe_redis
from parity.probes.support import redact_secrets
from parity.render import postgres as postgres_render

COMPONENTS = ("etcd", "patroni", "redis")
_SECRETS = resources.resource_for({"apiVersion": "v1", "kind": "Secret"})
_SERVICES = resources.resource_for({"apiVersion": "v1", "kind": "Service"})


def names_to_probe(*sections: EnvironmentSections | None) -> tuple[frozenset[str], frozenset[str]]:
    """(PostgreSQL parameter names, Redis config keys) mentioned by any of the sections. Pure."""
    parameters: set[str] = set()
    keys: set[str] = set()
    for section in sections:
        if section is None:
            continue
        parameters.update(section.postgres.parameters)
        keys.update(section.redis.config)
    return frozenset(parameters), frozenset(keys)


async def probe_services(
    endpoints: ServiceEndpoints,
    credentials: Credentials = Credentials(),
    *,
    components: Iterable[str] = COMPONENTS,
    parameter_names: Iterable[str] | None = None,
    config_keys: Iterable[str] | None = None,
    timeout: float = 5.0,
) -> list[ProbeResult]:
    """One ProbeResult per selected component that has endpoints. Never raises."""
    wanted = set(components)
    tasks = []
    if "etcd" in wanted and endpoints.etcd:
        tasks.append(probe_etcd(endpoints.etcd, timeout))
    if "patroni" in wanted and endpoints.patroni:
        tasks.append(
            probe_patroni(
                endpoints.patroni,
                postgres_conninfo(endpoints, credentials),
                timeout,
                parameter_names=None if parameter_names is None else list(parameter_names),
            )
        )
    if "redis" in wanted and (endpoints.redis or endpoints.sentinel):
        tasks.append(
            probe_redis(
                endpoints.redis,
                endpoints.sentinel,
                endpoints.master_group_name,
                credentials.redis_password,
                timeout,
                config_keys=None if config_keys is None else list(config_keys),
                sentinel_password=credentials.redis_password,
            )
        )
    results = await asyncio.gather(*tasks)
    # Belt and braces: no probe puts a secret in an error, but a driver might echo one.
    return [
        r
        if r.error is None
        else ProbeResult(r.component, r.endpoint, error=redact_secrets(r.error, credentials.secrets()))
        for r in results
    ]


def probe_environment(
    kube,
    body: dict,
    *,
    baseline: BaselineSpec | None = None,
    endpoint_map: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float = 5.0,
) -> list[ProbeResult]:
    """Probe one environment's services. Never raises: what cannot be resolved becomes a
    ProbeResult error per component (the drift engine turns it into a finding). Blocking.

    `endpoint_map` is the operator's own override configuration (load_endpoint_map); nothing
    on the ParityEnvironment redirects a probe. The PostgreSQL password is sent only to the
    primary Service the operator created for this environment (or to a configured override)."""
    try:
        targets = environment_targets(kube, body, endpoint_map)
    except (SpecError, EndpointError) as err:
        metadata = body.get("metadata") or {}
        where = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
        return [ProbeResult(c, where, error=str(err)) for c in ("etcd", "postgres", "redis")]
    spec, endpoints, credentials, withheld = targets
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    parameter_names, config_keys = names_to_probe(spec, baseline.environment if baseline is not None else None)
    results = asyncio.run(
        probe_services(
            endpoints, credentials, parameter_names=parameter_names, config_keys=config_keys, timeout=timeout
        )
    )
    if withheld:
        results.append(ProbeResult("postgres", f"{namespace}/{postgres_render.primary_service_name(name)}",
                                   error=withheld))
    return results


def environment_targets(kube, body: dict, endpoint_map: Mapping[str, Mapping[str, Any]] | None = None
                        ) -> tuple[EnvironmentSpec, ServiceEndpoints, Credentials, str | None]:
    """(spec, endpoints, credentials, why the PostgreSQL password is withheld or None) of one
    environment, for the probes and the actuators alike. Blocking. Raises SpecError or
    EndpointError. When the PostgreSQL password is withheld, endpoints.postgres is None and the
    credentials hold no PostgreSQL password: only Patroni's REST API is used, no SQL connection
    is made (Redis's password and Patroni's REST auth go to the per-pod names, not that Service)."""
    metadata = body.get("metadata") or {}
    name, namespace = metadata.get("name", ""), metadata.get("namespace", "")
    spec = parse_environment(body.get("spec") or {}, source=f"ParityEnvironment {namespace}/{name}")
    endpoints = resolve_endpoints(name, namespace, spec, endpoint_map)
    withheld = None
    if "postgres" not in overridden_components(namespace, name, endpoint_map):
        withheld = untrusted_postgres_service(kube, namespace, name, metadata.get("uid", ""))
    try:
        secret = kube.get(_SECRETS.object_path(credentials_secret_name(name), namespace))
    except Exception:  # noqa: BLE001 - without the password the REST side is still worth reading
        secret = None
    credentials = credentials_from_secret((secret or {}).get("data"))
    if withheld:
        return spec, replace(endpoints, postgres=None), replace(credentials, postgres_password=None), withheld
    return spec, endpoints, credentials, None


def untrusted_postgres_service(kube, namespace: str, name: str, env_uid: str) -> str | None:
    """Why the PostgreSQL password must not be sent to the primary Service's address, or None
    when that Service is one the operator created for this environment."""
    service_name = postgres_render.primary_service_name(name)
    try:
        service = kube.get(_SERVICES.object_path(service_name, namespace))
    except Exception as err:  # noqa: BLE001 - unknown means not trusted
        return f"Service {namespace}/{service_name} could not be read ({err}): the PostgreSQL password is not sent"
    if service is None:
        return f"Service {namespace}/{service_name} does not exist: the PostgreSQL password is not sent"
    service.setdefault("kind", "Service")
    if not is_owned_child(service, name, env_uid):
        return (f"Service {namespace}/{service_name} was not created by the operator for this environment "
                "(no controller owner reference to it): the PostgreSQL password is not sent to it")
    return None


def read_cluster_targets(
    kube, namespace: str, name: str, environ: Mapping[str, str] | None = None
) -> tuple[ServiceEndpoints, Credentials, EnvironmentSpec, dict]:
    """(endpoints, credentials, spec, body) of a ParityEnvironment, read through parity.kube.
    Overrides come from the caller's own environment variables (load_endpoint_map), never
    from the object.

    Blocking (the kube client is): call it from a thread in async code. Raises LookupError
    naming the object when the environment or its Secret is missing.
    """
    body = kube.get(resources.ENVIRONMENT.object_path(name, namespace))
    if body is None:
        raise LookupError(
            f"ParityEnvironment {namespace}/{name} not found "
            f"(kubectl get {constants.ENVIRONMENT_SHORT_NAME} -n {namespace})"
        )
    spec = parse_environment(body.get("spec") or {}, source=f"ParityEnvironment {namespace}/{name}")
    endpoint_map = load_endpoint_map(os.environ if environ is None else environ)
    endpoints = resolve_endpoints(name, namespace, spec, endpoint_map)
    secret_name = credentials_secret_name(name)
    secret = kube.get(_SECRETS.object_path(secret_name, namespace))
    if secret is None:
        raise LookupError(
            f"Secret {namespace}/{secret_name} not found: the PostgreSQL credentials are created with the environment"
        )
    return endpoints, credentials_from_secret(secret.get("data")), spec, body
