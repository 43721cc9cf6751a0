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


def test_outage_around_a_failure_counts_whichever_node_acknowledged():
    from parity.drill.report import measure_outage_around

    acks = [Ack(1, 1.0, "a"), Ack(2, 2.0, "a"), Ack(3, 9.5, "a"), Ack(4, 10.0, "a")]
    assert measure_outage_around(acks, 2.5).seconds == 7.5
    assert measure_outage_around(acks, 11.0).seconds is None  # nothing acknowledged after


class _ScriptedWriter:
    """A Writer whose 'primary' is a name that a kill can take down for a while (no network)."""

    @staticmethod
    def make(settings):
        import time as _time

        from parity.drill.common import Writer

        class ScriptedWriter(Writer):
            node_name = "a"
            down_until = 0.0

            def down(self):
                return _time.monotonic() < self.down_until

            async def _open(self):
                if self.down():
                    raise ConnectionRefusedError("refused")
                return object(), self.node_name

            async def _write(self, connection, seq):
                if self.down():
                    raise ConnectionResetError("reset")

            async def _close(self, connection):
                return None

        return ScriptedWriter(1, settings)


def _kill_for(writer, seconds, next_node):
    import time as _time

    class Killer:
        async def kill(self, target):
            writer.down_until = _time.monotonic() + seconds
            writer.node_name = next_node
            return f"took {target.member} down"

    return Killer()


def test_a_process_kill_the_same_leader_survives_passes_and_splits_writes_at_the_failure():
    import asyncio

    from parity.drill.common import DrillSettings, drive_failover
    from parity.drill.killers import KillTarget

    settings = DrillSettings(interval=0.005, warmup_writes=5, settle_seconds=0.1, timeout=5, ready_timeout=5,
                             leader_may_return=True)
    writer = _ScriptedWriter.make(settings)
    report = DrillReport(kind="patroni")

    async def no_other_leader():
        return None

    ok = asyncio.run(drive_failover(report, writer, _kill_for(writer, 0.3, "a"), KillTarget("postgres", "a", "h", 1),
                                    "a", no_other_leader, settings, "leader"))
    assert ok and report.error is None
    assert report.new_leader == "a" and report.same_leader_returned
    assert report.acked_before_kill >= 5 and report.acked_after_kill > 0
    assert report.unavailable_seconds >= 0.3 and report.failed_writes >= 1


def test_without_leader_may_return_the_same_leader_is_not_a_failover():
    import asyncio

    from parity.drill.common import DrillSettings, drive_failover
    from parity.drill.killers import KillTarget

    settings = DrillSettings(interval=0.005, warmup_writes=5, settle_seconds=0.1, timeout=1, ready_timeout=5)
    writer = _ScriptedWriter.make(settings)
    report = DrillReport(kind="patroni")

    async def no_other_leader():
        return None

    asyncio.run(drive_failover(report, writer, _kill_for(writer, 0.2, "a"), KillTarget("postgres", "a", "h", 1),
                               "a", no_other_leader, settings, "leader"))
    assert report.error is not None and "no new leader" in report.error and not report.passed


def test_process_kill_without_a_node_here_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    from parity.cli.main import main

    monkeypatch.delenv("PARITY_CONTAINERD_ADDRESS", raising=False)
    monkeypatch.setenv("PARITY_STATE_DIR", str(tmp_path / "no-cluster"))
    code = main(["drill", "failover", "--patroni", "http://127.0.0.1:1", "--kill", "process"])
    err = capsys.readouterr().err
    assert code == 1 and "--kill process needs cluster mode" in err and "Traceback" not in err


def test_local_node_runtime_names_the_missing_socket(tmp_path, monkeypatch):
    import pytest

    from parity.drill.killers import KillError, local_node_runtime

    monkeypatch.delenv("PARITY_CONTAINERD_ADDRESS", raising=False)
    with pytest.raises(KillError, match=r"no containerd socket at .*no-cluster/node/containerd/containerd.sock"):
        local_node_runtime(state_dir=tmp_path / "no-cluster")


def test_sentinel_failover_wait_allows_one_failed_round():
    from parity.drill.redis import failover_wait_seconds

    # down-after 5 s, failover-timeout 60 s: a failed round makes the voters wait 120 s.
    assert failover_wait_seconds({"down-after-milliseconds": "5000", "failover-timeout": "60000"}) == 135
    assert failover_wait_seconds({"down-after-milliseconds": "5000"}) is None
    assert failover_wait_seconds({"down-after-milliseconds": "x", "failover-timeout": "1"}) is None


def test_events_are_listed_under_the_report_and_the_rest_counted():
    report = DrillReport(kind="redis", error="no new primary within 135s", failover_wait_seconds=135,
                         events=["+5.1s dev-sentinel-0 +sdown master mymaster h 6379",
                                 "+6.0s dev-sentinel-1 -failover-abort-not-elected master mymaster h 6379"],
                         events_dropped=3)
    table = render_report(report)
    lines = table.splitlines()
    first = next(i for i, line in enumerate(lines) if "+5.1s dev-sentinel-0 +sdown" in line)
    assert lines[first].lstrip().startswith("events")
    assert lines[first + 1].strip() == "+6.0s dev-sentinel-1 -failover-abort-not-elected master mymaster h 6379"
    assert lines[first + 1].index("+6.0s") == lines[first].index("+5.1s")  # continues under the first
    assert lines[first + 2].strip() == "… 3 more"
    assert "135.00s" in table
    data = json.loads(render_report(report, "json"))
    assert data["events"] == report.events and data["events_dropped"] == 3 and data["failover_wait_seconds"] == 135
