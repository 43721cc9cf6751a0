"""The pure parts of the failover drills: measuring the outage, counting losses, the report,
and the kill command template."""

from __future__ import annotations

import json

from parity.drill.killers import CommandKiller, KillTarget, is_local_host
from parity.drill.report import Ack, DrillReport, find_lost, measure_outage, render_report


def test_outage_runs_from_the_old_leaders_last_ack_to_the_new_leaders_first():
    acks = [Ack(1, 10.0, "a"), Ack(2, 10.1, "a"), Ack(3, 10.2, "a"), Ack(5, 19.5, "b"), Ack(6, 19.6, "b")]
    outage = measure_outage(acks, "a")
    assert (outage.last_ack_before, outage.first_ack_after) == (10.2, 19.5)
    assert round(outage.seconds, 3) == 9.3


def test_outage_is_unknown_without_an_ack_on_both_sides():
    assert measure_outage([Ack(1, 1.0, "a")], "a").seconds is None
    assert measure_outage([], "a").seconds is None


def test_lost_writes_are_the_acked_ones_missing():
    assert find_lost({1, 2, 3, 5, 8}, [1, 3, 4, 8]) == [2, 5]
    assert find_lost(set(), [1]) == []


def test_zero_loss_required_fails_the_report_on_any_loss():
    report = DrillReport(kind="patroni", synchronous=True, zero_loss_required=True, acked_writes=10, present_acked=9, lost_acked_writes=1, lost_seqs=[7])
    assert not report.passed
    assert DrillReport(kind="patroni", synchronous=False, lost_acked_writes=3).passed
    assert not DrillReport(kind="redis", error="no new primary within 60s").passed


def test_table_and_json_say_the_same():
    report = DrillReport(
        kind="patroni", old_leader="pg0", new_leader="pg1", synchronous=True, zero_loss_required=True,
        attempted_writes=101, acked_writes=100, acked_before_kill=20, acked_after_kill=80, failed_writes=1,
        present_acked=100, unavailable_seconds=9.1234, leader_elected_seconds=8.9,
    )  # fmt: skip
    data = json.loads(render_report(report, "json"))
    assert data["passed"] is True and data["unavailable_seconds"] == 9.123 and data["lost_acked_writes"] == 0
    table = render_report(report, "table")
    assert table.splitlines()[0] == "Patroni failover drill"
    assert "✓ passed" in table and "9.12s" in table and "100  (20 before the kill, 80 after)" in table

    lost = DrillReport(kind="patroni", zero_loss_required=True, lost_acked_writes=25, lost_seqs=list(range(20)))
    line = next(x for x in render_report(lost).splitlines() if "LOST" in x)
    assert "✗ 25" in line and "…" in line and "zero required" in line


def test_kill_command_quotes_what_it_fills_in():
    killer = CommandKiller("docker kill {member} # {host}:{port} {api_url}")
    target = KillTarget("postgres", "pg0; rm -rf /", "10.0.0.1", 5432, "http://10.0.0.1:8008/patroni")
    assert killer.command_for(target) == "docker kill 'pg0; rm -rf /' # 10.0.0.1:5432 http://10.0.0.1:8008/patroni"


def test_local_hosts():
    assert is_local_host("127.0.0.1") and is_local_host("localhost") and is_local_host("::1") and is_local_host("127.0.0.2")
    assert not is_local_host("10.0.0.1") and not is_local_host("db.example")
