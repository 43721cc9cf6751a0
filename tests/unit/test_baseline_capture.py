"""capture_baseline (pure): the captured environment diffs clean against its capture, on the
declared and runtime levels; what runs differently from the spec is recorded and noted; what the
platform sets on every environment is left out; a failed probe refuses the capture."""

from __future__ import annotations

import copy

import pytest

from parity.api.errors import parse_baseline, parse_environment
from parity.baselines.capture import CAPTURED_FROM_ANNOTATION, capture_baseline
from parity.drift.engine import evaluate_drift
from parity.probes.base import ProbeResult

SPEC = {
    "baselineRef": {"name": "production"},
    "etcd": {"replicas": 3, "version": "3.5.17"},
    "postgres": {
        "replicas": 2,
        "version": "16",
        "parameters": {"max_connections": "200", "work_mem": "4MB", "timezone": "UTC"},
        "patroni": {"synchronousMode": True},
    },
    "redis": {"replicas": 3, "version": "7.2", "config": {"maxmemory": "256mb", "appendonly": "yes"},
              "sentinel": {"replicas": 3, "quorum": 2}},
    "drift": {"policy": "report"},
}


def running(**changes) -> list[ProbeResult]:
    """Probe results of an environment that runs SPEC (as the real probes report it), with
    `changes` (spec path → effective value) applied."""
    postgres = {
        "postgres.replicas": 2, "postgres.version": "16",
        "postgres.patroni.ttl": 30, "postgres.patroni.loopWait": 10, "postgres.patroni.retryTimeout": 10,
        "postgres.patroni.maximumLagOnFailover": 1048576, "postgres.patroni.synchronousMode": True,
        "postgres.patroni.failsafeMode": False,
        "postgres.parameters.max_connections": 200, "postgres.parameters.work_mem": "4096kB",
        "postgres.parameters.TimeZone": "UTC",
        # Set by Patroni's command line and by initdb on every member: not recorded.
        "postgres.parameters.wal_level": "replica", "postgres.parameters.lc_messages": "C.UTF-8",
        "postgres.parameters.port": 5432, "postgres.parameters.primary_conninfo": "<redacted>",
    }
    settings = {
        "max_connections": {"source": "command line"}, "work_mem": {"source": "configuration file"},
        "TimeZone": {"source": "configuration file"}, "wal_level": {"source": "command line"},
        "lc_messages": {"source": "configuration file"}, "port": {"source": "command line"},
        "primary_conninfo": {"source": "configuration file"},
    }
    redis = {
        "redis.replicas": 3, "redis.version": "7.2.4", "redis.config.maxmemory": 268435456,
        "redis.config.appendonly": True, "redis.config.save": "3600 1 300 100 60 10000",
        "redis.config.timeout": 0, "redis.sentinel.quorum": 2, "redis.sentinel.downAfterMilliseconds": 5000,
        "redis.sentinel.failoverTimeout": 60000, "redis.sentinel.parallelSyncs": 1, "redis.sentinel.replicas": 3,
    }
    etcd = {"etcd.replicas": 3, "etcd.version": "3.5.17"}
    for path, value in changes.items():
        for values in (postgres, redis, etcd):
            if path.split(".")[0] == next(iter(values)).split(".")[0]:
                values[path] = value
    dcs = {"max_connections": "200", "work_mem": "4MB", "timezone": "UTC"}
    return [
        ProbeResult("etcd", "http://etcd:2379", values=etcd),
        ProbeResult("postgres", "http://pg:8008", values=postgres,
                    details={"settings": settings, "dcsParameters": dcs}),
        ProbeResult("redis", "redis:6379", values=redis),
    ]


def diff(spec: dict, capture_manifest: dict, results: list[ProbeResult]):
    env = parse_environment(spec)
    name = capture_manifest["metadata"]["name"]
    baseline = parse_baseline(capture_manifest["spec"], name=name)
    return evaluate_drift(env, baseline, name, probe_results=results)


def test_an_environment_that_runs_its_spec_diffs_clean_against_its_capture():
    capture = capture_baseline(SPEC, running(), name="staging", source="team-a/dev")
    report = diff(SPEC, capture.manifest, running())
    assert [f.path for f in report.findings] == []
    assert [(lv.level, lv.state) for lv in report.levels] == [("declared", "ran"), ("live", "skipped"),
                                                             ("runtime", "ran")]
    assert capture.notes == []
    environment = capture.manifest["spec"]["environment"]
    # The spec's spelling is kept where the running value means the same.
    assert environment["postgres"]["parameters"] == {"max_connections": "200", "work_mem": "4MB", "timezone": "UTC"}
    assert environment["redis"]["config"] == {"maxmemory": "256mb", "appendonly": "yes"}
    assert environment["postgres"]["version"] == "16" and environment["redis"]["version"] == "7.2"
    # Values the spec leaves at their defaults are written out, from what runs.
    assert environment["redis"]["sentinel"]["downAfterMilliseconds"] == 5000
    assert environment["postgres"]["patroni"]["ttl"] == 30
    # The environment's own fields are not a baseline's.
    assert "baselineRef" not in environment and "drift" not in environment
    assert capture.manifest["kind"] == "ParityBaseline" and capture.manifest["metadata"]["name"] == "staging"
    assert capture.manifest["metadata"]["annotations"][CAPTURED_FROM_ANNOTATION] == "team-a/dev"


def test_a_runtime_change_after_the_capture_is_exactly_one_finding():
    capture = capture_baseline(SPEC, running(), name="staging", source="team-a/dev")
    report = diff(SPEC, capture.manifest, running(**{"redis.config.maxmemory": 134217728}))
    assert [(f.level, f.path, f.local, f.baseline) for f in report.findings] == [
        ("runtime", "redis.config.maxmemory", 134217728, "256mb")]


def test_what_runs_differently_from_the_spec_is_recorded_with_a_note():
    results = running(**{"postgres.parameters.work_mem": "8192kB", "redis.config.appendonly": False,
                         "postgres.patroni.ttl": 40, "etcd.version": "3.5.21"})
    capture = capture_baseline(SPEC, results, name="staging", source="team-a/dev")
    environment = capture.manifest["spec"]["environment"]
    assert environment["postgres"]["parameters"]["work_mem"] == "8192kB"
    assert environment["redis"]["config"]["appendonly"] == "no"
    assert environment["postgres"]["patroni"]["ttl"] == 40
    assert environment["etcd"]["version"] == "3.5.21"
    noted = sorted(n.split(":", 1)[0] for n in capture.notes)
    assert noted == ["etcd.version", "postgres.parameters.work_mem", "postgres.patroni.ttl",
                     "redis.config.appendonly"]
    assert "team-a/dev runs '8192kB' but its spec says '4MB'" in " ".join(capture.notes)
    # The baseline now says what runs: the spec (not the running service) is what differs from it.
    report = diff(SPEC, capture.manifest, results)
    assert {(f.level, f.path) for f in report.findings} >= {("declared", "postgres.parameters.work_mem"),
                                                           ("runtime", "postgres.parameters.work_mem")}


def test_settings_only_the_running_service_has_are_recorded_unless_the_platform_sets_them():
    results = running(**{"postgres.parameters.random_page_cost": 1.1, "redis.config.timeout": 300,
                         "redis.config.save": "3600 1 300 100 60 10000"})
    results[1].details["settings"]["random_page_cost"] = {"source": "configuration file"}
    results[1].details["dcsParameters"]["jit"] = "off"
    capture = capture_baseline(SPEC, results, name="staging", source="team-a/dev")
    environment = capture.manifest["spec"]["environment"]
    assert environment["postgres"]["parameters"] == {
        "max_connections": "200", "work_mem": "4MB", "timezone": "UTC", "random_page_cost": "1.1", "jit": "off"}
    # timeout differs from Redis's default 0; save is Redis's default.
    assert environment["redis"]["config"] == {"maxmemory": "256mb", "appendonly": "yes", "timeout": "300"}
    assert sorted(n.split(":", 1)[0] for n in capture.notes) == [
        "postgres.parameters.jit", "postgres.parameters.random_page_cost", "redis.config.timeout"]
    dumped = repr(capture.manifest)
    assert "<redacted>" not in dumped and "primary_conninfo" not in dumped and "lc_messages" not in dumped


def test_from_the_spec_alone_with_the_rules_of_another_baseline():
    rules = parse_baseline({"defaultSeverity": "info", "description": "staging rules",
                            "rules": [{"path": "postgres.version", "severity": "critical"}]})
    capture = capture_baseline(SPEC, [], name="dev-spec", source="dev", rules_from=rules, captured_at="2026-01-01T00:00:00Z")
    spec = capture.manifest["spec"]
    assert spec["defaultSeverity"] == "info"
    assert spec["rules"] == [{"path": "postgres.version", "severity": "critical"}]
    assert spec["description"] == "Captured from ParityEnvironment dev; rules: staging rules"
    assert spec["environment"]["postgres"] == SPEC["postgres"]
    assert diff(SPEC, capture.manifest, []).findings == ()


def test_the_spec_is_not_changed():
    spec = copy.deepcopy(SPEC)
    capture_baseline(spec, running(**{"postgres.parameters.work_mem": "8MB"}), name="s", source="a/b")
    assert spec == SPEC


def test_a_failed_probe_refuses_the_capture_naming_component_and_endpoint():
    results = running()
    results[2] = ProbeResult("redis", "dev-redis:6379", error="connection refused")
    with pytest.raises(ValueError, match=r"could not read the running services of a/b: redis at dev-redis:6379: "
                                         r"connection refused"):
        capture_baseline(SPEC, results, name="s", source="a/b")


def test_initdb_settings_are_not_recorded_when_the_spec_leaves_them_out():
    spec = copy.deepcopy(SPEC)
    del spec["postgres"]["parameters"]["timezone"]
    results = running(**{"postgres.parameters.TimeZone": "Etc/UTC"})
    results[1].details["dcsParameters"].pop("timezone")
    capture = capture_baseline(spec, results, name="staging", source="team-a/dev")
    assert capture.manifest["spec"]["environment"]["postgres"]["parameters"] == {"max_connections": "200",
                                                                               "work_mem": "4MB"}
    assert capture.notes == []
    assert diff(spec, capture.manifest, results).findings == ()


def test_recovery_settings_patroni_writes_after_a_failover_are_not_recorded():
    results = running(**{"postgres.parameters.recovery_target": "", "postgres.parameters.recovery_target_lsn": ""})
    results[1].details["settings"].update(recovery_target={"source": "configuration file"},
                                          recovery_target_lsn={"source": "configuration file"})
    capture = capture_baseline(SPEC, results, name="staging", source="team-a/dev")
    assert "recovery_target" not in repr(capture.manifest) and capture.notes == []
