"""Each probe reads the truth from real servers, and a change made at runtime shows up."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time

import psycopg
import pytest
import redis as redis_client

import servers
from parity.api import parse_baseline, parse_environment
from parity.drift.engine import evaluate_drift
from parity.drift.normalize import equivalent_at
from parity.probes.collect import names_to_probe
from parity.probes.etcd import probe_etcd
from parity.probes.patroni import probe_patroni
from parity.probes.redis import probe_redis

pytestmark = pytest.mark.runtime


def run(coro):
    return asyncio.run(coro)


def harness_environment(parameters: dict | None = None, patroni: dict | None = None, redis_config: dict | None = None):
    """A spec that matches what the harness runs, so that the only runtime drift is the change a
    test makes (defaults such as PostgreSQL 16 or ttl 30 would otherwise differ too)."""
    return parse_environment(
        {
            "postgres": {
                "version": "15",
                "replicas": 3,
                "parameters": parameters or {},
                "patroni": {
                    "ttl": 10,
                    "loopWait": 2,
                    "retryTimeout": 4,
                    "maximumLagOnFailover": 1048576,
                    "synchronousMode": True,
                    **(patroni or {}),
                },
            },
            "redis": {
                "version": "7.0",
                "replicas": 3,
                "config": redis_config or {},
                "sentinel": {"replicas": 3, "quorum": 2, "downAfterMilliseconds": 1000, "failoverTimeout": 5000},
            },
        },
        source="env.yaml",
    )


def runtime_findings(report) -> list:
    return [f for f in report.findings if f.level == "runtime"]


def wait_for_value(read, predicate, what: str, timeout: float = 30.0):
    """Poll a probe until its result satisfies predicate (Patroni applies config on its next loop)."""
    deadline = time.monotonic() + timeout
    result = read()
    while not predicate(result) and time.monotonic() < deadline:
        time.sleep(0.5)
        result = read()
    assert predicate(result), f"{what}; last probe result: values={result.values} error={result.error}"
    return result


# ---- etcd -----------------------------------------------------------------------------------


def test_etcd_probe_reads_version_members_and_leader(etcd_cluster):
    result = run(probe_etcd(etcd_cluster.endpoints, timeout=5))
    assert result.ok, result.error

    banner = subprocess.run([etcd_cluster.binary, "--version"], capture_output=True, text=True).stdout
    binary_version = re.search(r"etcd Version: (\S+)", banner).group(1)
    assert result.values["etcd.version"] == binary_version
    assert result.values["etcd.replicas"] == 3

    # The leader as etcd itself reports it to a client (member id → name through the member list).
    status = servers.http_json(f"{etcd_cluster.endpoints[0]}/v3/maintenance/status", method="POST", body={})
    members = servers.http_json(f"{etcd_cluster.endpoints[0]}/v3/cluster/member/list", method="POST", body={})["members"]
    leader_name = next(m["name"] for m in members if m["ID"] == status["leader"])
    assert result.details["leader"] == leader_name
    assert sorted(m["name"] for m in result.details["members"]) == ["etcd0", "etcd1", "etcd2"]
    assert [m["name"] for m in result.details["members"] if m["isLeader"]] == [leader_name]
    assert all(m["healthy"] and m["dbSize"] > 0 for m in result.details["members"])
    assert result.details["problems"] == []


# ---- Patroni / PostgreSQL -------------------------------------------------------------------


def test_patroni_probe_reads_cluster_config_and_parameters(patroni):
    names = ["max_connections", "shared_buffers", "wal_level", "hot_standby", "checkpoint_timeout", "timezone", "no_such_parameter"]
    result = run(probe_patroni(patroni.api_urls, patroni.dsn_without_host, timeout=5, parameter_names=names))
    assert result.ok, result.error

    server = subprocess.run([str(servers.PG_BIN_DIR / "postgres"), "--version"], capture_output=True, text=True).stdout
    assert result.values["postgres.version"] == re.search(r"(\d+)\.\d+", server).group(1)
    assert result.values["postgres.replicas"] == 3

    # What the harness bootstrapped the DCS with.
    assert result.values["postgres.patroni.synchronousMode"] is True
    assert result.values["postgres.patroni.ttl"] == patroni.ttl
    assert result.values["postgres.patroni.loopWait"] == patroni.loop_wait
    assert result.values["postgres.patroni.retryTimeout"] == patroni.retry_timeout
    assert result.values["postgres.patroni.maximumLagOnFailover"] == 1048576
    assert result.values["postgres.patroni.failsafeMode"] is False

    # pg_settings on the leader, compared by meaning with what Patroni was told to set.
    assert result.values["postgres.parameters.max_connections"] == 50
    assert equivalent_at("postgres.parameters.shared_buffers", result.values["postgres.parameters.shared_buffers"], "16MB")
    assert result.values["postgres.parameters.wal_level"] == "replica"
    assert result.values["postgres.parameters.hot_standby"] is True
    assert equivalent_at("postgres.parameters.checkpoint_timeout", result.values["postgres.parameters.checkpoint_timeout"], "5min")
    assert result.details["unknownParameters"] == ["no_such_parameter"]
    # PostgreSQL calls it TimeZone; it comes back under the spelling asked for.
    with psycopg.connect(patroni.dsn_for(patroni.node(patroni.leader())), autocommit=True) as conn:
        assert result.values["postgres.parameters.timezone"] == conn.execute("SHOW TimeZone").fetchone()[0]

    # Members and roles as Patroni reports them over its own REST API.
    truth = patroni.cluster_state()
    leader = next(m["name"] for m in truth["members"] if m["role"] == "leader")
    assert result.details["leader"] == leader
    assert {m["name"]: m["role"] for m in result.details["members"]} == {m["name"]: m["role"] for m in truth["members"]}
    replicas = [m for m in result.details["members"] if m["name"] != leader]
    assert len(replicas) == 2 and all(isinstance(m["lagBytes"], int) for m in replicas)
    assert any(m["role"] == "sync_standby" for m in replicas)
    # pg_stat_replication on the leader lists both standbys by their Patroni names.
    assert sorted(r["application_name"] for r in result.details["replication"]) == sorted(m["name"] for m in replicas)
    assert result.details["postgresInRecovery"] is False


def test_patroni_probe_without_parameter_names_reads_configured_settings(patroni):
    result = run(probe_patroni(patroni.api_urls, patroni.dsn_without_host, timeout=5))
    assert result.ok, result.error
    parameters = {k.split(".", 2)[2] for k in result.values if k.startswith("postgres.parameters.")}
    # Set by Patroni on the command line / in postgresql.conf: present. Built-in defaults: absent.
    assert {"max_connections", "wal_level", "max_wal_senders", "shared_buffers"} <= parameters
    assert "work_mem" not in parameters and "random_page_cost" not in parameters
    sources = {name: row["source"] for name, row in result.details["settings"].items()}
    assert not {"default", "override", "client", "session"} & set(sources.values())


def test_alter_system_shows_up_as_runtime_drift(patroni):
    leader = patroni.node(patroni.leader())
    env = harness_environment(parameters={"work_mem": "4MB"})
    baseline = parse_baseline(
        {
            "environment": {"postgres": {"parameters": {"work_mem": "4MB"}}},
            "rules": [{"path": "postgres.parameters.work_mem", "severity": "critical"}],
        },
        source="baseline.yaml",
    )
    parameter_names, _ = names_to_probe(env, baseline.environment)
    assert parameter_names == {"work_mem"}

    def probe():
        return run(probe_patroni(patroni.api_urls, patroni.dsn_without_host, timeout=5, parameter_names=parameter_names))

    before = probe()
    assert equivalent_at("postgres.parameters.work_mem", before.values["postgres.parameters.work_mem"], "4MB")
    assert runtime_findings(evaluate_drift(env, baseline, "prod", probe_results=[before])) == []

    with psycopg.connect(patroni.dsn_for(leader), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET work_mem = '7MB'")
        conn.execute("SELECT pg_reload_conf()")
    try:
        after = wait_for_value(
            probe,
            lambda r: equivalent_at("postgres.parameters.work_mem", r.values.get("postgres.parameters.work_mem"), "7MB"),
            "work_mem did not become 7MB",
        )
        findings = runtime_findings(evaluate_drift(env, baseline, "prod", probe_results=[after]))
        assert [(f.path, f.severity) for f in findings] == [("postgres.parameters.work_mem", "critical")]
        assert equivalent_at("postgres.parameters.work_mem", findings[0].local, "7MB")
    finally:
        with psycopg.connect(patroni.dsn_for(leader), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET work_mem")
            conn.execute("SELECT pg_reload_conf()")


def test_restart_only_parameter_is_reported_pending_restart(patroni):
    leader = patroni.node(patroni.leader())

    def probe():
        return run(probe_patroni(patroni.api_urls, patroni.dsn_without_host, timeout=5, parameter_names=["max_connections"]))

    with psycopg.connect(patroni.dsn_for(leader), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET max_connections = 60")
        conn.execute("SELECT pg_reload_conf()")
    try:
        result = wait_for_value(probe, lambda r: "max_connections" in r.pending_restart, "max_connections not pending restart")
        # Still the old value in effect: the new one waits for a restart.
        assert result.values["postgres.parameters.max_connections"] == 50
        env = harness_environment(parameters={"max_connections": "50"})
        findings = runtime_findings(evaluate_drift(env, None, "", probe_results=[result]))
        assert [f.path for f in findings] == ["postgres.parameters.max_connections"]
        assert "pending" in findings[0].remediation
    finally:
        with psycopg.connect(patroni.dsn_for(leader), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET max_connections")
            conn.execute("SELECT pg_reload_conf()")


def test_patroni_config_edit_shows_up(patroni):
    """patronictl edit-config changes the DCS config and, through Patroni, the running servers."""
    config_file = patroni.nodes[0].directory / "patroni.yml"

    def patronictl(*args):
        subprocess.run(
            ["/usr/bin/python3", "/usr/bin/patronictl", "-c", str(config_file), "edit-config", "--force", *args],
            check=True, capture_output=True, text=True, env={"PATH": servers.SYSTEM_PATH, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )  # fmt: skip

    def probe():
        return run(probe_patroni(patroni.api_urls, patroni.dsn_without_host, timeout=5, parameter_names=["work_mem"]))

    env = harness_environment()
    baseline = parse_baseline(
        {"rules": [{"path": "postgres.patroni.maximumLagOnFailover", "severity": "critical"}], "defaultSeverity": "info"},
        source="baseline.yaml",
    )
    patronictl("--set", "maximum_lag_on_failover=2097152", "--set", "loop_wait=3", "--pg", "work_mem=5MB")
    try:
        result = wait_for_value(
            probe,
            lambda r: equivalent_at("postgres.parameters.work_mem", r.values.get("postgres.parameters.work_mem"), "5MB"),
            "work_mem from edit-config did not reach the leader",
        )
        assert result.values["postgres.patroni.maximumLagOnFailover"] == 2097152
        assert result.values["postgres.patroni.loopWait"] == 3
        findings = {f.path: f.severity for f in runtime_findings(evaluate_drift(env, baseline, "prod", probe_results=[result]))}
        assert findings == {"postgres.patroni.maximumLagOnFailover": "critical", "postgres.patroni.loopWait": "info"}
    finally:
        patroni.patch_config({"maximum_lag_on_failover": 1048576, "loop_wait": patroni.loop_wait, "postgresql": {"parameters": {"work_mem": None}}})


# ---- Redis / Sentinel -----------------------------------------------------------------------


def test_redis_probe_reads_nodes_and_sentinels(redis):
    keys = ["maxmemory", "maxmemory-policy", "appendonly"]
    result = run(probe_redis(redis.addresses, redis.sentinel_addresses, redis.master_group, timeout=5, config_keys=keys))
    assert result.ok, result.error

    version = re.search(r"v=(\S+)", subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout).group(1)
    assert result.values["redis.version"] == version
    assert result.values["redis.replicas"] == 3
    assert result.values["redis.sentinel.quorum"] == 2
    assert result.values["redis.sentinel.replicas"] == 3
    assert result.values["redis.sentinel.downAfterMilliseconds"] == redis.down_after_ms
    assert result.values["redis.sentinel.failoverTimeout"] == redis.failover_timeout_ms
    assert result.values["redis.config.maxmemory"] == 64 * 1024 * 1024
    assert result.values["redis.config.maxmemory-policy"] == "noeviction"
    assert result.values["redis.config.appendonly"] is False
    assert "redis.sentinel.primaryAgreement" not in result.values

    primary = redis.current_primary()
    assert result.details["primary"] == primary
    roles = {n["address"]: n["role"] for n in result.details["nodes"]}
    assert roles == {a: ("master" if a == primary else "replica") for a in redis.addresses}
    host, port = primary.split(":")
    offset = redis_client.Redis(host=host, port=int(port)).info("replication")["master_repl_offset"]
    replicas = [n for n in result.details["nodes"] if n["role"] == "replica"]
    assert all(n["primary"] == primary and n["linkStatus"] == "up" and 0 <= n["offset"] <= offset for n in replicas)
    assert all(s["primary"] == primary and s["quorum"] == 2 for s in result.details["sentinels"])
    assert result.details["problems"] == []


def test_config_set_shows_up_as_runtime_drift(redis):
    primary = redis.current_primary()
    host, port = primary.split(":")
    client = redis_client.Redis(host=host, port=int(port))
    env = harness_environment(redis_config={"maxmemory-policy": "noeviction", "maxmemory": "64mb"})
    baseline = parse_baseline(
        {"rules": [{"path": "redis.config.*", "severity": "warning"}], "defaultSeverity": "info"}, source="baseline.yaml"
    )
    _, keys = names_to_probe(env)

    def probe():
        return run(probe_redis(redis.addresses, redis.sentinel_addresses, redis.master_group, timeout=5, config_keys=keys))

    assert runtime_findings(evaluate_drift(env, baseline, "prod", probe_results=[probe()])) == []
    client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        result = probe()
        assert result.values["redis.config.maxmemory-policy"] == "allkeys-lru"
        findings = runtime_findings(evaluate_drift(env, baseline, "prod", probe_results=[result]))
        assert [(f.path, f.severity, f.local) for f in findings] == [("redis.config.maxmemory-policy", "warning", "allkeys-lru")]
        # Only the primary was changed: the replicas now differ from it, which inspect points out.
        differing = [n["address"] for n in result.details["nodes"] if n.get("configDiffers") == ["maxmemory-policy"]]
        assert sorted(differing) == sorted(a for a in redis.addresses if a != primary)
    finally:
        client.config_set("maxmemory-policy", "noeviction")


def test_sentinels_disagreeing_about_the_primary_is_reported(redis, runtime_base):
    """A Sentinel that names another primary for the same group name (a second, unrelated group)."""
    base, _, registry = runtime_base
    stray = servers.RedisCluster(base / "stray", replicas=0, sentinels=1, quorum=1, registry=registry)
    try:
        stray.start()
        sentinels = redis.sentinel_addresses + stray.sentinel_addresses
        result = run(probe_redis(redis.addresses, sentinels, redis.master_group, timeout=5, config_keys=[]))
        assert result.ok, result.error
        assert result.values["redis.sentinel.primaryAgreement"] is False
        assert result.details["disagreement"] == {
            redis.current_primary(): redis.sentinel_addresses,
            stray.addresses[0]: stray.sentinel_addresses,
        }
        assert any(p["severity"] == "critical" and "disagree" in p["message"] for p in result.details["problems"])
    finally:
        stray.stop()
