"""Combinations the CRD schema cannot express."""

from __future__ import annotations

import pytest

from parity.api.models import EnvironmentSpec, SentinelSpec
from parity.render import check_combinations, check_environment_name


def problems(raw: dict) -> list[str]:
    return check_combinations(EnvironmentSpec.model_validate(raw))


def test_defaults_are_valid():
    assert problems({}) == []
    assert problems({"observability": {"enabled": True}}) == []


def test_observability_parts_on_while_observability_off_is_fine():
    assert problems({"observability": {"enabled": False, "grafana": {"enabled": True},
                                       "prometheus": {"enabled": True}}}) == []


def test_sentinel_mode_with_one_redis_says_what_to_change():
    found = problems({"redis": {"mode": "sentinel", "replicas": 1}})
    assert found == ["spec.redis.replicas: sentinel mode needs a primary and at least one replica to fail over to; "
                     "set spec.redis.replicas to at least 2 or spec.redis.mode to standalone"]


def test_standalone_with_one_redis_is_fine():
    assert problems({"redis": {"mode": "standalone", "replicas": 1}}) == []


def with_sentinel(raw: dict, **sentinel) -> EnvironmentSpec:
    """The schema refuses quorum > replicas; build such a spec without validation to reach the check."""
    spec = EnvironmentSpec.model_validate(raw)
    bad = SentinelSpec.model_construct(**{**spec.redis.sentinel.model_dump(), **sentinel})
    return spec.model_copy(update={"redis": spec.redis.model_copy(update={"sentinel": bad})})


def test_quorum_larger_than_sentinels():
    found = check_combinations(with_sentinel({}, replicas=2, quorum=3))
    assert len(found) == 1
    assert found[0].startswith("spec.redis.sentinel.quorum:")
    assert "set spec.redis.sentinel.quorum to at most 2" in found[0]
    assert check_combinations(with_sentinel({}, replicas=3, quorum=3)) == []


def test_quorum_is_not_checked_in_standalone_mode():
    assert check_combinations(with_sentinel({"redis": {"mode": "standalone"}}, replicas=1, quorum=3)) == []


def test_synchronous_mode_needs_a_replica():
    found = problems({"postgres": {"replicas": 1, "patroni": {"synchronousMode": True}}})
    assert found == ["spec.postgres.patroni.synchronousMode: synchronous replication needs a replica to confirm "
                     "commits; set spec.postgres.replicas to at least 2 or spec.postgres.patroni.synchronousMode "
                     "to false"]
    assert problems({"postgres": {"replicas": 2, "patroni": {"synchronousMode": True}}}) == []
    assert problems({"postgres": {"replicas": 1}}) == []


@pytest.mark.parametrize("name", ["port", "listen_addresses", "cluster_name", "hot_standby"])
def test_parameters_patroni_owns_are_refused(name):
    found = problems({"postgres": {"parameters": {name: "x", "work_mem": "4MB"}}})
    assert found == [f"spec.postgres.parameters.{name}: Patroni sets {name} itself; "
                     "remove it from spec.postgres.parameters"]


@pytest.mark.parametrize("key", ["port", "dir", "replicaof", "slaveof", "replica-announce-ip"])
def test_redis_config_keys_the_operator_owns_are_refused(key):
    found = problems({"redis": {"config": {key: "x", "maxmemory": "64mb"}}})
    assert len(found) == 1 and found[0].startswith(f"spec.redis.config.{key}:")


def test_postgres_major_without_default_image():
    found = problems({"postgres": {"version": "12"}})
    assert len(found) == 1 and found[0].startswith("spec.postgres.version:")
    assert "spec.postgres.image" in found[0]
    assert problems({"postgres": {"version": "12", "image": "registry.local/spilo-15:3.0-p1"}}) == []


def test_old_redis_cannot_run_sentinel_mode_by_hostname():
    found = problems({"redis": {"version": "6.0"}})
    assert len(found) == 1 and found[0].startswith("spec.redis.version:")
    assert problems({"redis": {"version": "6.0", "mode": "standalone"}}) == []
    assert problems({"redis": {"version": "6.2.14"}}) == []


def test_one_exporters_image_cannot_replace_two():
    found = problems({"observability": {"exporters": {"image": "x/y:1"}}})
    assert len(found) == 1 and found[0].startswith("spec.observability.exporters.image:")


def test_several_problems_are_all_reported():
    spec = with_sentinel({"redis": {"replicas": 1}, "postgres": {"replicas": 1, "patroni": {"synchronousMode": True}}},
                         replicas=1, quorum=2)
    assert [p.split(":", 1)[0] for p in check_combinations(spec)] == [
        "spec.postgres.patroni.synchronousMode", "spec.redis.replicas", "spec.redis.sentinel.quorum"]


def test_environment_name_checks():
    assert check_environment_name("dev") == []
    assert check_environment_name("a" * 43) == []
    too_long = check_environment_name("a" * 44)
    assert len(too_long) == 1 and "at most 43" in too_long[0]
    assert check_environment_name("1dev")[0].startswith("metadata.name:")
    assert check_environment_name("dev.team")


def test_reserved_names_are_refused_in_any_case():
    # Redis and PostgreSQL read setting names case-insensitively: `SlaveOf` would still point
    # the server at another primary, `Port` would still move PostgreSQL off 5432.
    spec = EnvironmentSpec.model_validate({"redis": {"config": {"SlaveOf": "10.0.0.1 6379"}},
                              "postgres": {"parameters": {"Port": "6543"}}})
    problems = check_combinations(spec)
    assert any(p.startswith("spec.redis.config.SlaveOf:") for p in problems), problems
    assert any(p.startswith("spec.postgres.parameters.Port:") for p in problems), problems
