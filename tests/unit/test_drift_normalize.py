"""Normalisation: values compared by meaning."""

from decimal import Decimal

import pytest

from parity.drift.normalize import (
    KIND_QUANTITY,
    KIND_REDIS,
    canonical,
    equivalent,
    equivalent_at,
    format_postgres_setting,
    kind_of_path,
    parse_quantity,
)


def pg(name):
    return f"postgres:{name}"


@pytest.mark.parametrize(
    "name, a, b",
    [
        ("shared_buffers", "256MB", "262144kB"),
        ("shared_buffers", "256MB", "32768"),
        ("shared_buffers", "256MB", 32768),
        ("shared_buffers", "1GB", "131072"),
        ("shared_buffers", "'256MB'", "256MB"),
        ("shared_buffers", "256 MB", "256MB"),
        ("work_mem", "4MB", "4096"),
        ("work_mem", "4MB", "4096kB"),
        ("maintenance_work_mem", "1GB", "1048576"),
        ("effective_cache_size", "4GB", "524288"),
        ("wal_buffers", "16MB", "2048"),
        ("wal_buffers", "-1", -1),
        ("max_wal_size", "1GB", "1024"),
        ("min_wal_size", "80MB", "80"),
        ("statement_timeout", "30s", "30000"),
        ("statement_timeout", "1min", "60s"),
        ("statement_timeout", "1h", "3600000"),
        ("checkpoint_timeout", "5min", "300"),
        ("checkpoint_timeout", "5min", "300s"),
        ("log_rotation_age", "1d", "1440"),
        ("autovacuum_vacuum_cost_delay", "2ms", "2000us"),
        # PostgreSQL rounds integer parameters to a whole base unit.
        ("shared_buffers", "1001kB", "1000kB"),
        ("fsync", "on", "true"),
        ("fsync", "on", "yes"),
        ("fsync", "on", "1"),
        ("fsync", "ON", "t"),
        ("fsync", "off", "false"),
        ("fsync", "off", "0"),
        ("fsync", "off", "of"),
        ("hot_standby", True, "on"),
        ("some_unknown_flag", "on", "true"),
        ("max_connections", "200", 200),
        ("max_connections", "200", "200.0"),
        ("random_page_cost", "1.1", 1.1),
    ],
)
def test_postgres_equivalent(name, a, b):
    assert equivalent(a, b, pg(name))
    assert equivalent(b, a, pg(name))


@pytest.mark.parametrize(
    "name, a, b",
    [
        ("shared_buffers", "256MB", "128MB"),
        ("shared_buffers", "256MB", "256kB"),
        # Without a known unit a bare number is not assumed to be anything in particular.
        ("unknown_memory", "256MB", "32768"),
        ("shared_buffers", "256mb", "256MB"),  # PostgreSQL units are case-sensitive: 256mb is not valid
        ("statement_timeout", "30s", "30"),
        ("fsync", "on", "off"),
        ("some_unknown_flag", "on", "1"),  # only known booleans read 1 as on
        ("max_connections", "200", "100"),
        ("wal_level", "replica", "logical"),
        ("shared_buffers", "256MB", "on"),
    ],
)
def test_postgres_different(name, a, b):
    assert not equivalent(a, b, pg(name))
    assert not equivalent(b, a, pg(name))


@pytest.mark.parametrize(
    "a, b",
    [
        ("1gb", "1073741824"),
        ("1GB", 1073741824),
        ("100mb", "104857600"),
        ("1k", "1000"),
        ("1kb", "1024"),
        ("2m", "2000000"),
        ("yes", "YES"),
        ("allkeys-lru", "ALLKEYS-LRU"),
        ("3600 1 300 100", "3600  1   300 100"),
        ("normal 0 0 0 replica 256mb 64mb 60", "normal 0 0 0 replica 268435456 67108864 60"),
        ("0", 0),
    ],
)
def test_redis_equivalent(a, b):
    assert equivalent(a, b, KIND_REDIS)
    assert equivalent(b, a, KIND_REDIS)


@pytest.mark.parametrize("a, b", [("1gb", "1g"), ("1kb", "1k"), ("yes", "no"), ("100mb", "100"), ("3600 1", "3600 2")])
def test_redis_different(a, b):
    assert not equivalent(a, b, KIND_REDIS)


@pytest.mark.parametrize(
    "a, b",
    [("1Gi", "1024Mi"), ("500m", "0.5"), ("500m", 0.5), ("1", 1), ("1k", "1000"), ("1e3", "1k"), ("2Gi", 2147483648), ("0.5Gi", "512Mi")],
)
def test_quantity_equivalent(a, b):
    assert equivalent(a, b, KIND_QUANTITY)
    assert equivalent(b, a, KIND_QUANTITY)


@pytest.mark.parametrize("a, b", [("1Gi", "1G"), ("500m", "500"), ("1Mi", "1M"), ("1Gi", "lots")])
def test_quantity_different(a, b):
    assert not equivalent(a, b, KIND_QUANTITY)


def test_parse_quantity():
    assert parse_quantity("1Gi") == Decimal(1073741824)
    assert parse_quantity("250m") == Decimal("0.25")
    assert parse_quantity("1.5k") == Decimal(1500)
    assert parse_quantity("nonsense") is None
    assert parse_quantity(None) is None


@pytest.mark.parametrize(
    "a, b, same",
    [("5", 5, True), (" 5 ", "5.0", True), ("true", True, True), ("TRUE", True, True), (True, 1, False), ("x", "X", False), (None, None, True), (None, "", False)],
)
def test_generic(a, b, same):
    assert equivalent(a, b) is same
    assert equivalent(b, a) is same


def test_maps_and_lists_compare_by_meaning_inside():
    assert equivalent({"cpu": "500m", "memory": "1Gi"}, {"memory": "1024Mi", "cpu": 0.5}, KIND_QUANTITY)
    assert not equivalent({"cpu": "500m"}, {"cpu": "500m", "memory": "1Gi"}, KIND_QUANTITY)
    assert equivalent(["1", 2], [1, "2"])
    assert not equivalent([1, 2], [2, 1])


@pytest.mark.parametrize(
    "path, kind",
    [
        ("postgres.parameters.shared_buffers", "postgres:shared_buffers"),
        ('postgres.parameters["pg_stat_statements.max"]', "postgres:pg_stat_statements.max"),
        ("redis.config.maxmemory", KIND_REDIS),
        ("postgres.resources.limits.memory", KIND_QUANTITY),
        ("postgres.storage.size", KIND_QUANTITY),
        ("live.StatefulSet.spec.template.spec.containers[name=etcd].resources.limits.cpu", KIND_QUANTITY),
        ("live.StatefulSet.spec.volumeClaimTemplates[name=data].spec.resources.requests.storage", KIND_QUANTITY),
        ("etcd.replicas", "generic"),
    ],
)
def test_kind_of_path(path, kind):
    assert kind_of_path(path) == kind


def test_equivalent_at_uses_the_path():
    assert equivalent_at("postgres.parameters.shared_buffers", "256MB", "32768")
    assert not equivalent_at("postgres.parameters.application_name", "256MB", "32768")
    assert equivalent_at("redis.config.maxmemory", "1gb", "1073741824")
    assert equivalent_at("etcd.resources.requests.memory", "1Gi", "1024Mi")


class Weird:
    def __repr__(self):
        raise RuntimeError("no repr for you")


@pytest.mark.parametrize(
    "value",
    ["", "   ", "1e999999999", "-", ".", "NaN", "inf", "9" * 5000, "1" * 5000 + "gb", "256XB", "'", "\x00", float("nan"),
     float("inf"), object(), Weird(), {"a": [1, {"b": None}]}, b"bytes", 10**400],
)
@pytest.mark.parametrize("kind", ["generic", "postgres:shared_buffers", "postgres:fsync", "postgres:statement_timeout", KIND_REDIS, KIND_QUANTITY])
def test_garbage_never_raises_and_is_symmetric(value, kind):
    canonical(value, kind)
    for other in ("256MB", "1", "on", None):
        assert equivalent(value, other, kind) == equivalent(other, value, kind)


def test_format_postgres_setting():
    assert format_postgres_setting("16384", "8kB") == "131072kB"
    assert equivalent(format_postgres_setting("16384", "8kB"), "128MB", pg("shared_buffers"))
    assert format_postgres_setting("4096", "kB") == "4096kB"
    assert format_postgres_setting("100", None) == "100"
    assert format_postgres_setting("on", "") == "on"


def test_unknown_parameters_compare_spelled_out_units():
    assert equivalent("5min", "300s", pg("some_extension.interval"))
    assert equivalent("1GB", "1024MB", pg("some_extension.memory"))
    assert not equivalent("5min", "300", pg("some_extension.interval"))
    assert not equivalent("1GB", "1s", pg("some_extension.memory"))
