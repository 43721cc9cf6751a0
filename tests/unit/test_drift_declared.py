"""Declared level: spec vs baseline."""

from parity.api import parse_baseline, parse_environment
from parity.drift.declared import evaluate_declared
from parity.drift.engine import evaluate_drift


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


def test_whole_sections_added_are_reported_per_key():
    env = parse_environment({"postgres": {"resources": {"limits": {"cpu": "2"}}}})
    [f] = evaluate_declared(env, parse_baseline({}))
    assert (f.path, f.change, f.local, f.severity) == ("postgres.resources.limits.cpu", "added", "2", "info")


def test_whole_sections_removed_are_reported_per_key():
    base = parse_baseline({"environment": {"etcd": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                                   "limits": {"memory": "2Gi"}}}}})
    findings = evaluate_declared(parse_environment({}), base)
    assert sorted((f.path, f.change, f.baseline) for f in findings) == [
        ("etcd.resources.limits.memory", "removed", "2Gi"),
        ("etcd.resources.requests.cpu", "removed", "1"),
        ("etcd.resources.requests.memory", "removed", "1Gi"),
    ]


def test_a_map_whose_keys_mostly_differ_is_not_one_finding():
    """Issue 10.1: with DeepDiff's default threshold_to_diff_deeper this was one warning at
    `postgres.parameters`, hiding the critical rule on max_connections and the ignore pattern."""
    base = parse_baseline({
        "environment": {"postgres": {"parameters": {
            "max_connections": "200", "shared_buffers": "256MB", "work_mem": "4MB", "wal_level": "replica",
            "maintenance_work_mem": "64MB", "random_page_cost": "1.1", "timezone": "UTC"}}},
        "rules": [{"path": "postgres.parameters.max_connections", "severity": "critical"}],
    })
    env = parse_environment({"drift": {"ignore": ["postgres.parameters.timezone"]},
                             "postgres": {"parameters": {"max_connections": "50", "shared_buffers": "128MB"}}})
    findings = {f.path: f for f in evaluate_declared(env, base, "production")}
    assert "postgres.parameters" not in findings
    assert findings["postgres.parameters.max_connections"].severity == "critical"
    assert findings["postgres.parameters.shared_buffers"].change == "modified"
    assert findings["postgres.parameters.work_mem"].change == "removed"
    assert len(findings) == 7
    report = evaluate_drift(env, base, "production")
    assert report.highest == "critical" and report.exceeds("critical")
    assert "postgres.parameters.timezone" not in {f.path for f in report.findings}
    assert len(report.findings) == 6


def test_baseline_rules_apply():
    env = parse_environment({"etcd": {"replicas": 1}})
    base = parse_baseline({"rules": [{"path": "etcd.*", "severity": "info", "remediation": "ok: {local} vs {baseline}"}]})
    [f] = evaluate_declared(env, base)
    assert (f.severity, f.remediation) == ("info", "ok: 1 vs 3")
