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


# --- image catalogues -------------------------------------------------------------------------

def _catalog(tmp_path, text: str):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    return images.load_catalog(path)


LOCAL = """
name: local
etcd: {"3.5.17": parity.local/etcd:3.5.17}
postgres: {"17": parity.local/postgres-patroni:17}
redis: {"7.0": parity.local/redis:7.0}
observability: {prometheus: parity.local/prometheus:2.53}
"""


def test_a_catalogue_supplies_defaults_and_an_explicit_image_still_wins(tmp_path):
    from parity.api.models import EtcdSpec, PostgresSpec, RedisSpec

    local = _catalog(tmp_path, LOCAL)
    assert images.postgres_image(PostgresSpec(version="17"), local) == "parity.local/postgres-patroni:17"
    assert images.etcd_image(EtcdSpec(version="3.5.17"), local) == "parity.local/etcd:3.5.17"
    assert images.redis_image(RedisSpec(version="7.0"), local) == "parity.local/redis:7.0"
    assert images.postgres_image(PostgresSpec(version="17", image="mine:1"), local) == "mine:1"


def test_a_version_the_catalogue_lacks_is_refused_naming_the_field_and_what_it_has(tmp_path):
    from parity.api.models import PostgresSpec

    local = _catalog(tmp_path, LOCAL)
    with pytest.raises(images.NoDefaultImage) as err:
        images.postgres_image(PostgresSpec(version="16"), local)
    assert "spec.postgres.version" in str(err.value) and "17" in str(err.value)


def test_checks_refuse_parts_a_catalogue_has_no_image_for(tmp_path):
    from parity.api.models import EnvironmentSpec
    from parity.render.checks import check_combinations

    local = _catalog(tmp_path, LOCAL)
    spec = EnvironmentSpec.model_validate({"postgres": {"version": "17"}, "redis": {"version": "7.0"},
                                           "observability": {"enabled": True}})
    problems = check_combinations(spec, local)
    assert any("spec.observability.grafana" in p for p in problems)
    assert any("spec.observability.exporters" in p for p in problems)
    assert not any("spec.postgres" in p for p in problems)


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", "mapping"), ("postgres: {17: [x]}", "postgres"), ("images: {}", "unknown key")])
def test_a_bad_catalogue_file_is_refused_naming_the_file_and_key(tmp_path, text, words):
    with pytest.raises(images.CatalogError) as err:
        _catalog(tmp_path, text)
    assert words in str(err.value) and "catalog.yaml" in str(err.value)
