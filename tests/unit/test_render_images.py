"""Default images derived from versions; section `image` overrides."""

from __future__ import annotations

import pytest

from parity.api.models import EtcdSpec, PostgresSpec, RedisSpec, ToggleSpec
from parity.render import images


def test_etcd_image_from_version():
    assert images.etcd_image(EtcdSpec(version="3.5.17")) == "quay.io/coreos/etcd:v3.5.17"
    assert images.etcd_image(EtcdSpec(version="3.4.34")) == "quay.io/coreos/etcd:v3.4.34"
    assert images.etcd_image(EtcdSpec(image="mirror/etcd:x")) == "mirror/etcd:x"


@pytest.mark.parametrize("major", ["13", "14", "15", "16", "17"])
def test_every_supported_postgres_major_boots_from_the_pinned_spilo(major):
    assert images.postgres_image(PostgresSpec(version=major)) == images.SPILO_IMAGE
    assert images.SPILO_IMAGE.startswith("ghcr.io/zalando/spilo-")


def test_postgres_major_outside_the_image_needs_an_override():
    with pytest.raises(images.NoDefaultImage, match="spec.postgres.version"):
        images.postgres_image(PostgresSpec(version="12"))
    assert images.postgres_image(PostgresSpec(version="12", image="mine:12")) == "mine:12"


def test_redis_image_from_version_and_override():
    assert images.redis_image(RedisSpec(version="7.2")) == "redis:7.2"
    assert images.redis_image(RedisSpec(version="7.2.5", image="mirror/redis:7")) == "mirror/redis:7"


def test_observability_images_are_pinned_and_overridable():
    assert set(images.OBSERVABILITY_IMAGES) == {
        "prometheus", "grafana", "jaeger", "otel-collector", "postgres-exporter", "redis-exporter"}
    for part, image in images.OBSERVABILITY_IMAGES.items():
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", part
        assert images.observability_image(part) == image
    assert images.observability_image("grafana", ToggleSpec(image="mirror/grafana:1")) == "mirror/grafana:1"
    assert images.observability_image("grafana", ToggleSpec()) == images.OBSERVABILITY_IMAGES["grafana"]
