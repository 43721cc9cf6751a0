"""Runtime level: probe values vs the spec."""

from parity.api import parse_baseline, parse_environment
from parity.drift.runtime import evaluate_runtime, versions_match
from parity.probes.base import ProbeResult

ENV = parse_environment({
    "postgres": {"version": "16", "parameters": {"max_connections": "200", "shared_buffers": "256MB", "pg_stat_statements.max": "5000"}},
    "redis": {"config": {"maxmemory": "1gb"}, "sentinel": {"masterGroupName": "main"}},
})


def by_path(findings):
    return {f.path: f for f in findings}


def test_matching_values_are_not_drift():
    result = ProbeResult("postgres", "dev-postgres-0:5432", values={
        "postgres.parameters.max_connections": 200,
        "postgres.parameters.shared_buffers": "32768",
        "postgres.version": "16.4",
        "postgres.replicas": 3,
        "postgres.parameters.pg_stat_statements.max": "5000",
    })
    redis = ProbeResult("redis", "dev-redis:6379", values={"redis.config.maxmemory": "1073741824", "redis.mode": "sentinel"})
    assert evaluate_runtime([result, redis], ENV) == []


def test_alter_system_is_runtime_drift_with_concrete_remediation():
    result = ProbeResult("postgres", "dev-postgres-0:5432", values={"postgres.parameters.max_connections": "500"})
    [f] = evaluate_runtime([result], ENV)
    assert (f.path, f.level, f.change, f.local, f.baseline, f.component) == (
        "postgres.parameters.max_connections", "runtime", "modified", "500", "200", "postgres")
    assert f.remediation.startswith("postgres.parameters.max_connections is 500 at runtime but the spec says 200")
    assert 'ALTER SYSTEM RESET max_connections' in f.remediation
    assert 'set spec.postgres.parameters.max_connections to "500"' in f.remediation
    assert f.severity == "warning"


def test_baseline_value_is_reported_when_the_baseline_has_one():
    base = parse_baseline({"environment": {"postgres": {"parameters": {"max_connections": "300"}}}})
    result = ProbeResult("postgres", "p:5432", values={"postgres.parameters.max_connections": "500"})
    [f] = evaluate_runtime([result], ENV, base, "production")
    assert f.baseline == "300"
    assert "the spec says 200" in f.remediation


def test_paths_the_spec_does_not_define_are_skipped():
    result = ProbeResult("postgres", "p:5432", values={"postgres.parameters.work_mem": "64MB", "nonsense.path": 1})
    assert evaluate_runtime([result], ENV) == []


def test_dotted_parameter_from_probe_is_resolved_and_quoted():
    result = ProbeResult("postgres", "p:5432", values={"postgres.parameters.pg_stat_statements.max": "9000"})
    [f] = evaluate_runtime([result], ENV)
    assert f.path == 'postgres.parameters["pg_stat_statements.max"]'


def test_component_specific_remediations():
    results = [
        ProbeResult("redis", "r:6379", values={"redis.config.maxmemory": "2gb"}),
        ProbeResult("sentinel", "s:26379", values={"redis.sentinel.quorum": 1}),
        ProbeResult("postgres", "p:8008", values={"postgres.patroni.synchronousMode": True, "postgres.replicas": 2}),
        ProbeResult("etcd", "e:2379", values={"etcd.replicas": 5, "etcd.version": "3.4.0"}),
    ]
    found = by_path(evaluate_runtime(results, ENV))
    assert set(found) == {"redis.config.maxmemory", "redis.sentinel.quorum", "postgres.patroni.synchronousMode",
                          "postgres.replicas", "etcd.replicas", "etcd.version"}
    assert 'CONFIG SET maxmemory 1gb' in found["redis.config.maxmemory"].remediation
    assert 'SENTINEL SET main quorum 2' in found["redis.sentinel.quorum"].remediation
    assert found["redis.sentinel.quorum"].component == "sentinel"
    assert 'patronictl edit-config --set synchronous_mode=false' in found["postgres.patroni.synchronousMode"].remediation
    assert found["postgres.patroni.synchronousMode"].severity == "critical"
    assert "scale back to 3" in found["etcd.replicas"].remediation
    assert "image" in found["etcd.version"].remediation


def test_pending_restart_alone_and_merged():
    pending = ProbeResult("postgres", "p:5432", values={"postgres.parameters.shared_buffers": "32768"},
                          pending_restart=("shared_buffers",), details={"scope": "dev-postgres"})
    [f] = evaluate_runtime([pending], ENV)
    assert (f.path, f.local, f.baseline) == ("postgres.parameters.shared_buffers", "pending restart", "256MB")
    assert "patronictl restart dev-postgres --pending" in f.remediation

    both = ProbeResult("postgres", "p:5432", values={"postgres.parameters.max_connections": "100"},
                       pending_restart=("max_connections",))
    [g] = evaluate_runtime([both], ENV)
    assert g.local == "100"
    assert "ALTER SYSTEM RESET" in g.remediation and "pending_restart" in g.remediation


def test_probe_error_is_one_warning_finding():
    base = parse_baseline({"rules": [{"path": "postgres.**", "severity": "critical"}], "defaultSeverity": "critical"})
    errors = [
        ProbeResult("redis", "dev-redis:6379", error="connection refused"),
        ProbeResult("patroni", "dev-postgres:8008", error="timed out"),
        ProbeResult("postgres", "dev-postgres:5432", error="no route"),
    ]
    found = by_path(evaluate_runtime(errors, ENV, base))
    assert set(found) == {"runtime.redis.probe", "runtime.patroni.probe", "runtime.postgres.probe"}
    redis = found["runtime.redis.probe"]
    assert (redis.severity, redis.component, redis.local) == ("warning", "redis", "connection refused")
    assert "dev-redis:6379" in redis.remediation and "connection refused" in redis.remediation
    assert found["runtime.patroni.probe"].component == "postgres"


def test_two_failures_of_one_component_are_merged():
    errors = [ProbeResult("redis", "a:6379", error="refused"), ProbeResult("redis", "b:6379", error="reset")]
    [f] = evaluate_runtime(errors, ENV)
    assert "a:6379" in f.remediation and "b:6379" in f.remediation


def test_versions_match_is_symmetric_prefix():
    assert versions_match("16", "16.4") and versions_match("16.4", "16")
    assert versions_match("v3.5.17", "3.5.17")
    assert not versions_match("16", "15.4")
    assert not versions_match("7.2", "7.20")
    assert not versions_match("", "16")



def test_postgres_parameter_names_are_case_insensitive():
    env = parse_environment({"postgres": {"parameters": {"datestyle": "ISO, MDY", "Shared_Buffers": "128MB"}}})
    result = ProbeResult("postgres", "p:5432", values={
        "postgres.parameters.DateStyle": "ISO, DMY",
        "postgres.parameters.shared_buffers": "131072kB",
    }, pending_restart=("shared_buffers",))
    found = by_path(evaluate_runtime([result], env))
    assert set(found) == {"postgres.parameters.datestyle", "postgres.parameters.Shared_Buffers"}
    assert found["postgres.parameters.datestyle"].local == "ISO, DMY"
    assert found["postgres.parameters.Shared_Buffers"].local == "pending restart"


def test_probe_values_in_the_probes_own_form():
    # What parity.probes.units produces: units spelled out, booleans as bool, numbers as int.
    env = parse_environment({
        "postgres": {"parameters": {"shared_buffers": "256MB", "checkpoint_timeout": "5min", "fsync": "on", "max_connections": "100"}},
        "redis": {"config": {"maxmemory": "1gb", "appendonly": "yes"}},
    })
    result = ProbeResult("postgres", "p:5432", values={
        "postgres.parameters.shared_buffers": "262144kB",
        "postgres.parameters.checkpoint_timeout": "300s",
        "postgres.parameters.fsync": True,
        "postgres.parameters.max_connections": 100,
    })
    redis = ProbeResult("redis", "r:6379", values={"redis.config.maxmemory": 1073741824, "redis.config.appendonly": True})
    assert evaluate_runtime([result, redis], env) == []


def test_a_baseline_rule_remediation_keeps_the_command_that_undoes_the_change():
    base = parse_baseline({"environment": {"postgres": {"parameters": {"max_connections": "300"}}},
                           "rules": [{"path": "postgres.parameters.*", "severity": "critical",
                                      "remediation": "Make spec.{path} match production"}]})
    result = ProbeResult("postgres", "p:5432", values={"postgres.parameters.max_connections": "500"})
    [f] = evaluate_runtime([result], ENV, base, "production")
    assert f.severity == "critical"
    assert "ALTER SYSTEM RESET max_connections" in f.remediation
    assert f.remediation.endswith("Baseline: Make spec.postgres.parameters.max_connections match production")


def test_runtime_findings_name_the_member_the_value_was_read_from():
    postgres = ProbeResult("postgres", "p:8008", values={"postgres.parameters.max_connections": "500"},
                           details={"leader": "dev-postgres-1"})
    redis = ProbeResult("redis", "r:6379", values={"redis.config.maxmemory": "1mb", "redis.sentinel.quorum": 1},
                        details={"configSource": "dev-redis-0:6379", "sentinelSource": "dev-sentinel-2:26379"})
    found = by_path(evaluate_runtime([postgres, redis], ENV))
    assert found["postgres.parameters.max_connections"].member == "dev-postgres-1"
    assert found["redis.config.maxmemory"].member == "dev-redis-0:6379"
    assert found["redis.sentinel.quorum"].member == "dev-sentinel-2:26379"
    assert found["redis.config.maxmemory"].to_dict()["member"] == "dev-redis-0:6379"
