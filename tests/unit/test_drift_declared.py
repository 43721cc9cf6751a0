"""Declared level: spec vs baseline."""

from parity.api import parse_baseline, parse_environment
from parity.drift.declared import evaluate_declared


def by_path(findings):
    return {f.path: f for f in findings}


def test_identical_and_defaulted_specs_have_no_drift():
    env = parse_environment({"etcd": {"replicas": 3}, "postgres": {"version": "16"}})
    assert evaluate_declared(env, parse_baseline({})) == []
    assert evaluate_declared(parse_environment({}), parse_baseline({"environment": {"etcd": {"replicas": 3}}})) == []


def test_modified_added_removed():
    env = parse_environment({
        "postgres": {"version": "15", "parameters": {"max_connections": "200", "work_mem": "8MB"}},
        "redis": {"mode": "standalone"},
    })
    base = parse_baseline({"environment": {
        "postgres": {"version": "16", "parameters": {"max_connections": "200", "shared_buffers": "256MB"}},
    }})
    found = by_path(evaluate_declared(env, base, "production"))
    assert set(found) == {
        "postgres.version", "redis.mode", "postgres.parameters.work_mem", "postgres.parameters.shared_buffers",
    }
    version = found["postgres.version"]
    assert (version.change, version.local, version.baseline, version.severity) == ("modified", "15", "16", "critical")
    assert version.level == "declared" and version.component == "postgres"
    assert version.remediation == 'set spec.postgres.version to "16": production runs 16, this environment runs 15'
    added = found["postgres.parameters.work_mem"]
    assert (added.change, added.local, added.baseline) == ("added", "8MB", None)
    assert "remove spec.postgres.parameters.work_mem" in added.remediation
    removed = found["postgres.parameters.shared_buffers"]
    assert (removed.change, removed.local, removed.baseline) == ("removed", None, "256MB")
    assert removed.remediation.startswith('set spec.postgres.parameters.shared_buffers to "256MB"')
    assert found["redis.mode"].severity == "critical"


def test_camel_case_paths_and_components():
    env = parse_environment({"postgres": {"patroni": {"synchronousMode": True}}, "redis": {"sentinel": {"quorum": 1}}})
    found = by_path(evaluate_declared(env, parse_baseline({})))
    assert found["postgres.patroni.synchronousMode"].severity == "critical"
    assert found["postgres.patroni.synchronousMode"].local is True
    assert found["redis.sentinel.quorum"].component == "sentinel"


def test_values_equal_by_meaning_are_not_drift():
    env = parse_environment({
        "postgres": {"parameters": {"shared_buffers": "256MB", "fsync": "on"}, "storage": {"size": "1024Mi"}},
        "redis": {"config": {"maxmemory": "1gb"}},
        "etcd": {"resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}},
    })
    base = parse_baseline({"environment": {
        "postgres": {"parameters": {"shared_buffers": "32768", "fsync": "true"}, "storage": {"size": "1Gi"}},
        "redis": {"config": {"maxmemory": "1073741824"}},
        "etcd": {"resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}}},
    }})
    assert evaluate_declared(env, base) == []


def test_dotted_parameter_names_are_quoted():
    env = parse_environment({"postgres": {"parameters": {"pg_stat_statements.max": "5000"}}})
    base = parse_baseline({"environment": {"postgres": {"parameters": {"pg_stat_statements.max": "10000"}}}})
    [f] = evaluate_declared(env, base, "production")
    assert f.path == 'postgres.parameters["pg_stat_statements.max"]'
    assert f.remediation.startswith('set spec.postgres.parameters["pg_stat_statements.max"] to "10000"')


def test_whole_sections_added():
    env = parse_environment({"postgres": {"resources": {"limits": {"cpu": "2"}}}})
    [f] = evaluate_declared(env, parse_baseline({}))
    assert (f.path, f.change, f.local, f.severity) == ("postgres.resources", "added", {"limits": {"cpu": "2"}}, "info")


def test_baseline_rules_apply():
    env = parse_environment({"etcd": {"replicas": 1}})
    base = parse_baseline({"rules": [{"path": "etcd.*", "severity": "info", "remediation": "ok: {local} vs {baseline}"}]})
    [f] = evaluate_declared(env, base)
    assert (f.severity, f.remediation) == ("info", "ok: 1 vs 3")
