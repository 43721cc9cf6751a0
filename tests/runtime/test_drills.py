"""Failover drills against real Patroni and Redis Sentinel clusters, leaders killed for real."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest
import redis as redis_client

import servers
from parity.cli.main import main
from parity.drill.common import DrillSettings
from parity.drill.killers import LocalProcessKiller
from parity.drill.patroni import TABLE, run_patroni_drill
from parity.drill.redis import KEY
from parity.drill.report import DrillReport, render_report

pytestmark = pytest.mark.runtime

SETTINGS = DrillSettings(interval=0.02, warmup_writes=20, settle_seconds=1.0, timeout=90)


def assert_consistent(report: dict) -> None:
    """The numbers of one report agree with each other."""
    assert report["acked_writes"] == report["acked_before_kill"] + report["acked_after_kill"]
    assert report["lost_acked_writes"] == report["acked_writes"] - report["present_acked"]
    assert report["attempted_writes"] == report["acked_writes"] + report["failed_writes"]
    assert len(report["lost_seqs"]) == min(report["lost_acked_writes"], 20)
    assert report["acked_before_kill"] >= SETTINGS.warmup_writes
    assert report["acked_after_kill"] > 0
    # Both ends of the outage were observed: a last write on the old leader, a first on the new.
    assert report["unavailable_seconds"] > 0
    assert report["leader_elected_seconds"] > 0


def run_drill_cli(capsys, failover_timeout: int, *argv: str) -> tuple[dict, str]:
    """`parity drill ARGV... -o json`, settling 1s; asserts it exited 0 with a passed report.
    Returns (the report, the raw output)."""
    code = main(
        ["drill", *argv, "--settle", "1", "--failover-timeout", str(failover_timeout), "-o", "json"]
    )
    out = capsys.readouterr().out
    data = json.loads(out)
    assert code == 0, out
    assert data["passed"] is True and data["error"] is None
    return data, out


def rows_present(patroni, leader_name: str, seqs: list[int]) -> int:
    with psycopg.connect(patroni.dsn_for(patroni.node(leader_name)), autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {TABLE} WHERE seq = ANY(%s)", (seqs,)).fetchone()[0]


def test_patroni_drill_with_synchronous_mode_loses_no_acknowledged_write(patroni):
    old = patroni.leader()
    report = asyncio.run(run_patroni_drill(patroni.api_urls, patroni.dsn_without_host, LocalProcessKiller(), SETTINGS))
    data = report.to_dict()
    assert report.error is None, report.error
    assert report.passed
    assert data["synchronous"] is True and data["zero_loss_required"] is True
    assert data["old_leader"] == old
    assert data["new_leader"] == patroni.leader() != old
    assert data["lost_acked_writes"] == 0 and data["lost_seqs"] == []
    assert_consistent(data)
    # The killed node is really down, not just reported so.
    assert not patroni.node(old).process.alive()
    # Independently of the drill: the rows the drill wrote after the failover are on the new leader.
    with psycopg.connect(patroni.dsn_for(patroni.node(data["new_leader"])), autocommit=True) as conn:
        total = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    assert total >= data["acked_writes"]


def test_patroni_drill_without_synchronous_mode_reports_its_loss_count(patroni, capsys):
    """Through the CLI, with a user-supplied kill command (what one would use for docker or ssh)."""
    patroni.patch_config({"synchronous_mode": False})
    servers.wait_until(
        lambda: patroni.dcs_config().get("synchronous_mode") is False
        and not any(m["role"] == "sync_standby" for m in patroni.cluster_state()["members"]),
        30,
        "synchronous_mode off",
    )
    old = patroni.leader()
    nodes_dir = patroni.nodes[0].directory.parent
    kill_command = f"kill -9 $(cat {nodes_dir}/{{member}}/patroni.pid) $(head -1 {nodes_dir}/{{member}}/data/postmaster.pid)"
    data, out = run_drill_cli(
        capsys, 90,
        "failover",
        "--patroni", *patroni.api_urls,
        "--postgres", f"user={servers.SUPERUSER} password={servers.SUPERUSER_PASSWORD} dbname=postgres",
        "--kill-command", kill_command,
    )  # fmt: skip
    assert data["killed"].startswith("ran kill -9 ")
    assert data["synchronous"] is False and data["zero_loss_required"] is False
    assert data["old_leader"] == old and data["new_leader"] not in (None, old)
    assert not patroni.node(old).process.alive()
    assert_consistent(data)
    if data["lost_seqs"]:
        # Whatever the drill calls lost is really missing on the new leader.
        assert rows_present(patroni, data["new_leader"], data["lost_seqs"]) == 0
    assert servers.SUPERUSER_PASSWORD not in out


def test_redis_drill_through_the_cli(redis, capsys):
    old = redis.current_primary()
    data, _ = run_drill_cli(
        capsys, 60,
        "redis-failover",
        "--sentinel", *redis.sentinel_addresses,
        "--master-group", redis.master_group,
    )  # fmt: skip
    assert data["synchronous"] is False and data["zero_loss_required"] is False
    new = redis.current_primary()
    assert data["old_leader"] == old and data["new_leader"] == new != old
    assert data["killed"].startswith("SIGKILL pids ")
    assert not redis.node_at(old).process.alive()
    assert_consistent(data)

    # Independently: the new primary holds the drill's items in order, and none the report
    # calls lost.
    host, port = new.split(":")
    items = [int(v) for v in redis_client.Redis(host=host, port=int(port)).lrange(KEY, 0, -1)]
    assert items == sorted(items)
    assert not set(data["lost_seqs"]) & set(items)

    # The same report as a table.
    report = DrillReport(**{k: v for k, v in data.items() if k != "passed"})
    lines = render_report(report, "table").splitlines()
    assert lines[0] == "Redis Sentinel failover drill"
    rows = {line.split("  ")[1].strip(): line for line in lines[1:]}
    assert rows["result"].endswith("✓ passed")
    assert rows["old leader"].endswith(old) and rows["new leader"].endswith(new)
    assert f"{data['acked_writes']}  ({data['acked_before_kill']} before the kill" in rows["writes acknowledged"]
