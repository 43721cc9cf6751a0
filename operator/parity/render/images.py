"""Default container images, pinned, derived from each section's `version`.

A section's `image` field always wins over the default. The reasons for each choice are in
docs/components.md; change a tag here and nowhere else.
"""

from __future__ import annotations

from parity.api.models import EtcdSpec, PostgresSpec, RedisSpec, ToggleSpec

ETCD_REPOSITORY = "quay.io/coreos/etcd"
REDIS_REPOSITORY = "redis"

# Spilo (Zalando): Patroni + PostgreSQL in one maintained image. One Spilo image carries
# several PostgreSQL majors and boots the one named by PGVERSION, so every supported major
# maps to the newest Spilo release rather than to an old, unmaintained spilo-<major> image.
SPILO_IMAGE = "ghcr.io/zalando/spilo-17:4.0-p3"
SPILO_MAJORS = ("13", "14", "15", "16", "17")

# Observability parts, pinned to releases of the same period so they are known to work together.
OBSERVABILITY_IMAGES = {
    "prometheus": "prom/prometheus:v2.55.1",
    "grafana": "grafana/grafana:11.4.0",
    "jaeger": "jaegertracing/all-in-one:1.62.0",
    "otel-collector": "otel/opentelemetry-collector-contrib:0.114.0",
    "postgres-exporter": "prometheuscommunity/postgres-exporter:v0.16.0",
    "redis-exporter": "oliver006/redis_exporter:v1.67.0",
}


class NoDefaultImage(ValueError):
    """The section's version has no pinned default image and no `image` override was given."""


def etcd_image(spec: EtcdSpec) -> str:
    return spec.image or f"{ETCD_REPOSITORY}:v{spec.version}"


def postgres_image(spec: PostgresSpec) -> str:
    if spec.image:
        return spec.image
    if spec.version not in SPILO_MAJORS:
        raise NoDefaultImage(
            f"spec.postgres.version: PostgreSQL {spec.version} has no pinned default image "
            f"({SPILO_IMAGE} boots {', '.join(SPILO_MAJORS)}); set spec.postgres.version to one of those "
            "or spec.postgres.image to a Spilo image that contains it"
        )
    return SPILO_IMAGE


def redis_image(spec: RedisSpec) -> str:
    # Sentinel runs from the same image (redis-sentinel ships with the server).
    return spec.image or f"{REDIS_REPOSITORY}:{spec.version}"


def observability_image(part: str, toggle: ToggleSpec | None = None) -> str:
    """The image of one observability part; `toggle.image` overrides it when given."""
    if toggle is not None and toggle.image:
        return toggle.image
    return OBSERVABILITY_IMAGES[part]
