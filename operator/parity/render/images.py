"""Default container images, pinned, derived from each section's `version`.

A section's `image` field always wins over the default. Defaults come from an image catalogue:
PUBLISHED (public images, for kind and real clusters) unless the operator is configured with
another one (PARITY_IMAGE_CATALOG, a YAML file: see load_catalog), such as the catalogue of
locally built images that `parity images build` writes for the real node. The reasons for
each published choice are in docs/components.md; change a tag here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

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


# The spec field that switches each observability part.
PART_FIELDS = {"prometheus": "prometheus", "grafana": "grafana", "jaeger": "jaeger",
               "otel-collector": "otelCollector", "postgres-exporter": "exporters", "redis-exporter": "exporters"}


class NoDefaultImage(ValueError):
    """The section's version has no pinned default image and no `image` override was given."""


@dataclass(frozen=True)
class ImageCatalog:
    """Default images by component and version. A mapping left as None means "any version, by
    the published naming scheme"; a mapping lists the only versions this catalogue has."""

    name: str
    etcd: Mapping[str, str] | None = None
    postgres: Mapping[str, str] | None = None
    redis: Mapping[str, str] | None = None
    observability: Mapping[str, str] = field(default_factory=lambda: dict(OBSERVABILITY_IMAGES))


PUBLISHED = ImageCatalog("published", postgres={major: SPILO_IMAGE for major in SPILO_MAJORS})


class CatalogError(ValueError):
    """An image catalogue file that cannot be used; the message names the file and the key."""


def load_catalog(path: str | Path) -> ImageCatalog:
    """Read a catalogue file: `name`, and `etcd`/`postgres`/`redis` maps of version → image and
    `observability` map of part → image (parts it lacks are unavailable in that catalogue)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CatalogError(f"{path}: cannot read the image catalogue: {err}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: an image catalogue is a mapping with etcd, postgres, redis, observability")
    known = {"name", "etcd", "postgres", "redis", "observability"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CatalogError(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    maps = {}
    for key in ("etcd", "postgres", "redis", "observability"):
        value = data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                  for k, v in value.items()):
            raise CatalogError(f"{path}: {key}: expected a mapping of quoted version (or part) to image reference")
        maps[key] = dict(value)
    return ImageCatalog(str(data.get("name") or Path(path).stem), etcd=maps["etcd"], postgres=maps["postgres"],
                        redis=maps["redis"], observability=maps["observability"])


def _from_catalog(catalog: ImageCatalog, images: Mapping[str, str] | None, field_path: str, what: str,
                  version: str) -> str | None:
    if images is None:
        return None
    if version in images:
        return images[version]
    have = ", ".join(sorted(images)) or "none"
    raise NoDefaultImage(
        f"spec.{field_path}.version: the {catalog.name} image catalogue has no {what} {version} (it has: {have}); "
        f"set spec.{field_path}.version to one of those or spec.{field_path}.image"
    )


def etcd_image(spec: EtcdSpec, catalog: ImageCatalog = PUBLISHED) -> str:
    return (spec.image or _from_catalog(catalog, catalog.etcd, "etcd", "etcd", spec.version)
            or f"{ETCD_REPOSITORY}:v{spec.version}")


def postgres_image(spec: PostgresSpec, catalog: ImageCatalog = PUBLISHED) -> str:
    if spec.image:
        return spec.image
    if catalog is PUBLISHED and spec.version not in SPILO_MAJORS:
        raise NoDefaultImage(
            f"spec.postgres.version: PostgreSQL {spec.version} has no pinned default image "
            f"({SPILO_IMAGE} boots {', '.join(SPILO_MAJORS)}); set spec.postgres.version to one of those "
            "or spec.postgres.image to an image that satisfies the Patroni contract (docs/components.md)"
        )
    return _from_catalog(catalog, catalog.postgres, "postgres", "PostgreSQL", spec.version) or SPILO_IMAGE


def redis_image(spec: RedisSpec, catalog: ImageCatalog = PUBLISHED) -> str:
    # Sentinel runs from the same image (redis-sentinel ships with the server).
    return (spec.image or _from_catalog(catalog, catalog.redis, "redis", "Redis", spec.version)
            or f"{REDIS_REPOSITORY}:{spec.version}")


def observability_image(part: str, toggle: ToggleSpec | None = None, catalog: ImageCatalog = PUBLISHED) -> str:
    """The image of one observability part; `toggle.image` overrides it when given."""
    if toggle is not None and toggle.image:
        return toggle.image
    if part not in catalog.observability:
        raise NoDefaultImage(
            f"spec.observability.{PART_FIELDS[part]}: the {catalog.name} image catalogue has no {part} image; "
            f"set spec.observability.{PART_FIELDS[part]}.enabled: false, or give its image")
    return catalog.observability[part]


def unavailable_parts(catalog: ImageCatalog) -> list[str]:
    return [part for part in OBSERVABILITY_IMAGES if part not in catalog.observability]
