"""`parity inspect` against the real clusters, through the CLI entry point."""

from __future__ import annotations

import json

import pytest

import servers
from parity.cli.main import main

pytestmark = pytest.mark.runtime


def inspect(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["inspect", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def postgres_dsn() -> str:
    return f"user={servers.SUPERUSER} password={servers.SUPERUSER_PASSWORD} dbname=postgres"


def test_inspect_json_reports_leaders_members_and_lag(capsys, etcd_cluster, patroni, redis):
    code, out, err = inspect(
        capsys, "all",
        "--etcd", *etcd_cluster.endpoints,
        "--patroni", *patroni.api_urls,
        "--postgres", postgres_dsn(),
        "--redis", *redis.addresses,
        "--sentinel", *redis.sentinel_addresses,
        "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    results = {r["component"]: r for r in json.loads(out)}
    assert set(results) == {"etcd", "postgres", "redis"}
    assert all(r["ok"] for r in results.values())

    truth = patroni.cluster_state()
    leader = next(m["name"] for m in truth["members"] if m["role"] == "leader")
    pg = results["postgres"]["details"]
    assert pg["leader"] == leader
    assert sorted(m["name"] for m in pg["members"]) == ["pg0", "pg1", "pg2"]
    assert all(isinstance(m["lagBytes"], int) for m in pg["members"] if m["name"] != leader)
    assert sorted(r["application_name"] for r in pg["replication"]) == sorted(m["name"] for m in pg["members"] if m["name"] != leader)
    assert all(isinstance(r["replay_lag_bytes"], int) for r in pg["replication"])

    assert results["redis"]["details"]["primary"] == redis.current_primary()
    assert results["etcd"]["values"]["etcd.replicas"] == 3
    # The superuser password went into the DSN; it must come out nowhere.
    assert servers.SUPERUSER_PASSWORD not in out


def test_inspect_table_marks_and_names_the_leader(capsys, patroni):
    code, out, err = inspect(capsys, "patroni", "--patroni", *patroni.api_urls, "--postgres", postgres_dsn())
    assert code == 0, err
    leader = patroni.leader()
    header = out.splitlines()[0]
    assert header.startswith("✓ Patroni") and f"leader {leader}" in header and "synchronous_mode on" in header
    leader_row = next(line for line in out.splitlines() if line.strip().startswith(leader + " "))
    assert "leader" in leader_row and "running" in leader_row
    assert servers.SUPERUSER_PASSWORD not in out


def test_inspect_after_the_leader_is_killed(capsys, patroni):
    old = patroni.leader()
    old_timeline = next(m["timeline"] for m in patroni.cluster_state()["members"] if m["name"] == old)
    patroni.node(old).kill()
    servers.wait_until(lambda: patroni.leader() not in (None, old), 90, "a new Patroni leader", [n.directory / "patroni.log" for n in patroni.nodes])
    new = patroni.leader()
    # The new leader publishes its timeline in the DCS on its next loop after the promotion.
    servers.wait_until(
        lambda: next(m.get("timeline", 0) for m in patroni.cluster_state()["members"] if m["name"] == new) > old_timeline,
        30,
        "the new leader's timeline in the DCS",
    )

    code, out, err = inspect(capsys, "patroni", "--patroni", *patroni.api_urls, "--postgres", postgres_dsn(), "-o", "json")
    assert code == 0, err
    (result,) = json.loads(out)
    details = result["details"]
    assert details["leader"] == new
    assert old not in [m["name"] for m in details["members"] if m["state"] == "running"]
    assert details["unreachableRestUrls"] and details["unreachableRestUrls"][0].startswith(patroni.node(old).api_url)
    assert result["values"]["postgres.replicas"] == len(details["members"])
    # The new leader's timeline moved on; PostgreSQL was read on the new leader.
    assert details["timeline"] > old_timeline
    assert details["postgresEndpoint"].startswith(f"127.0.0.1:{patroni.node(new).pg_port}/")

    code, out, _ = inspect(capsys, "patroni", "--patroni", *patroni.api_urls, "--postgres", postgres_dsn())
    assert code == 0
    assert f"leader {new}" in out.splitlines()[0]
    assert any(line.strip().startswith("! Patroni REST API " + patroni.node(old).api_url) for line in out.splitlines())


def test_inspect_exits_1_naming_the_endpoint_when_nothing_answers(capsys):
    (dead,) = servers.allocate_ports(1)
    code, out, err = inspect(capsys, "--etcd", f"http://127.0.0.1:{dead}", "--timeout", "2")
    assert code == 1
    assert f"http://127.0.0.1:{dead}" in err and err.startswith("parity: nothing reachable")
    assert out == ""
