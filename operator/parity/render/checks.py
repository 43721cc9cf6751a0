"""Invalid combinations the CRD schema cannot express.

Each problem is one line `spec.<field>: <what is wrong>; <what to change>`. An empty list
means the spec can be rendered and will work. Observability parts switched on while
observability.enabled is false are fine: they simply take effect when it is turned on.
"""

from __future__ import annotations

from parity.api.models import EnvironmentSpec
from parity.api.names import MAX_ENVIRONMENT_NAME, environment_name_problems
from parity.render import images, redis

# Patroni derives these from its own settings (listen address, scope, role); a value in
# spec.postgres.parameters would be ignored or break the Services and probes that assume 5432.
PATRONI_OWNED_PARAMETERS = ("cluster_name", "hot_standby", "listen_addresses", "port")

# Sentinel mode announces members by DNS name, which Redis supports from 6.2 on.
SENTINEL_MIN_REDIS = (6, 2)

__all__ = ["MAX_ENVIRONMENT_NAME", "PATRONI_OWNED_PARAMETERS", "check_combinations", "check_environment_name"]


def check_combinations(spec: EnvironmentSpec, catalog: images.ImageCatalog = images.PUBLISHED) -> list[str]:
    problems: list[str] = []
    problems += _check_postgres(spec)
    problems += _check_redis(spec)
    problems += _check_observability(spec)
    problems += _check_images(spec, catalog)
    return problems


def _check_images(spec: EnvironmentSpec, catalog: images.ImageCatalog) -> list[str]:
    """Every child that will be rendered has an image: given, or in the catalogue."""
    from parity.render.observability import enabled_parts

    lookups = [lambda: images.etcd_image(spec.etcd, catalog), lambda: images.postgres_image(spec.postgres, catalog),
               lambda: images.redis_image(spec.redis, catalog)]
    toggles = {"prometheus": spec.observability.prometheus, "grafana": spec.observability.grafana,
               "jaeger": spec.observability.jaeger, "otel-collector": spec.observability.otel_collector}
    for part in enabled_parts(spec):
        lookups.append(lambda part=part: images.observability_image(part, toggles.get(part), catalog))
    problems = []
    for lookup in lookups:
        try:
            lookup()
        except images.NoDefaultImage as err:
            problems.append(str(err))
    return problems


def _check_postgres(spec: EnvironmentSpec) -> list[str]:
    pg = spec.postgres
    patroni = pg.patroni
    problems = []
    if patroni.synchronous_mode and pg.replicas < 2:
        problems.append(
            "spec.postgres.patroni.synchronousMode: synchronous replication needs a replica to confirm commits; "
            "set spec.postgres.replicas to at least 2 or spec.postgres.patroni.synchronousMode to false"
        )
    # PostgreSQL reads parameter names case-insensitively: `Port` is `port`.
    for name in sorted(k for k in pg.parameters if k.lower() in PATRONI_OWNED_PARAMETERS):
        problems.append(
            f"spec.postgres.parameters.{name}: Patroni sets {name} itself; remove it from spec.postgres.parameters"
        )
    return problems


def _check_redis(spec: EnvironmentSpec) -> list[str]:
    r = spec.redis
    problems = []
    # Redis reads directive names case-insensitively: `SlaveOf` is `slaveof`.
    for key in sorted(k for k in r.config if k.lower() in redis.RESERVED_CONFIG_KEYS):
        problems.append(
            f"spec.redis.config.{key}: the operator sets {key} itself (ports, data directory and replication "
            f"are wired to the Services and Sentinels, the password comes from the credentials Secret); "
            f"remove it from spec.redis.config"
        )
    if r.mode != "sentinel":
        return problems
    if r.replicas < 2:
        problems.append(
            "spec.redis.replicas: sentinel mode needs a primary and at least one replica to fail over to; "
            "set spec.redis.replicas to at least 2 or spec.redis.mode to standalone"
        )
    s = r.sentinel
    # The schema refuses this too (CEL rule, SentinelSpec validator); kept for specs built
    # without validation, so a render can never be asked for an unreachable quorum.
    if s.quorum > s.replicas:
        problems.append(
            f"spec.redis.sentinel.quorum: a quorum of {s.quorum} can never be reached by {s.replicas} sentinel(s), "
            f"so no failover would ever start; set spec.redis.sentinel.quorum to at most {s.replicas} "
            f"or spec.redis.sentinel.replicas to at least {s.quorum}"
        )
    version = tuple(int(part) for part in r.version.split(".")[:2])
    if version < SENTINEL_MIN_REDIS:
        problems.append(
            f"spec.redis.version: sentinel mode needs Redis {'.'.join(map(str, SENTINEL_MIN_REDIS))} or newer "
            f"(members are announced by DNS name), got {r.version}; raise spec.redis.version or set "
            "spec.redis.mode to standalone"
        )
    return problems


def _check_observability(spec: EnvironmentSpec) -> list[str]:
    if spec.observability.exporters.image:
        return [
            "spec.observability.exporters.image: the exporters part runs two images (postgres-exporter and "
            "redis-exporter), so one image cannot replace both; remove spec.observability.exporters.image"
        ]
    return []


def check_environment_name(name: str) -> list[str]:
    """Problems with a ParityEnvironment's metadata.name as a prefix of its children's names
    (the CRD refuses the same names; `parity validate` checks them offline)."""
    return environment_name_problems(name)
