"""Actuation planners: which settings a pass pushes, what PATCH /config / CONFIG SET / SENTINEL SET
they become, and what status and Events say afterwards (no secret in any of them)."""

from __future__ import annotations

import asyncio

import pytest

from parity.actuate.base import (
    REDACTED,
    ActuationResult,
    Change,
    Refused,
    applied_token,
    desired_settings,
    settings_to_apply,
    with_retries,
)
from parity.actuate.outcome import EVENT_SETTINGS_APPLIED, summarize
from parity.actuate.patroni import pending_restarts, plan_config_patch
from parity.actuate.redis import plan_config_set, plan_sentinel_set
from parity.api import parse_environment


def spec(**sections):
    return parse_environment(sections, source="test")


def test_desired_settings_cover_parameters_patroni_redis_and_sentinel():
    settings = desired_settings(spec(postgres={"parameters": {"work_mem": "8MB"}, "patroni": {"ttl": 40}},
                                     redis={"config": {"maxmemory": "256mb"}, "sentinel": {"quorum": 2}}))
    assert settings["postgres.parameters.work_mem"] == "8MB"
    assert settings["postgres.patroni.ttl"] == 40
    assert settings["postgres.patroni.synchronousMode"] is False
    assert settings["redis.config.maxmemory"] == "256mb"
    assert settings["redis.sentinel.downAfterMilliseconds"] == 5000
    standalone = desired_settings(spec(redis={"mode": "standalone"}))
    assert not any(p.startswith("redis.sentinel.") for p in standalone)


def test_report_policy_pushes_only_what_the_spec_changed():
    desired = {"postgres.parameters.work_mem": "8MB", "redis.config.maxmemory": "256mb"}
    applied = {"postgres.parameters.work_mem": "4MB", "redis.config.maxmemory": "256mb",
               "postgres.parameters.gone": "1"}
    chosen = settings_to_apply(desired, applied, enforce=False)
    assert chosen == {"postgres.parameters.work_mem": "8MB", "postgres.parameters.gone": None}


def test_enforce_pushes_everything_and_first_pass_pushes_everything():
    desired = {"postgres.parameters.work_mem": "8MB", "redis.config.maxmemory": "256mb"}
    applied = {p: applied_token(p, v) for p, v in desired.items()}
    assert settings_to_apply(desired, applied, enforce=True) == desired
    assert settings_to_apply(desired, None, enforce=False) == desired
    assert settings_to_apply(desired, applied, enforce=False) == {}


def test_credentials_are_hashed_in_status_and_redacted_in_messages():
    token = applied_token("redis.config.masterauth", "hunter2")
    assert token.startswith("sha256:") and "hunter2" not in token
    text = Change("redis.config.requirepass", "redis-0", "old-secret", "new-secret").describe()
    assert "secret" not in text.replace("requirepass", "") and REDACTED in text


def test_patroni_patch_only_sends_what_differs_by_meaning():
    config = {"ttl": 30, "loop_wait": 10, "postgresql": {"parameters": {"work_mem": "4096kB", "max_connections": 100,
                                                                        "old": "x"}}}
    wanted = {"postgres.parameters.work_mem": "4MB", "postgres.parameters.max_connections": "200",
              "postgres.parameters.old": None, "postgres.patroni.ttl": 30, "postgres.patroni.loopWait": 5}
    patch, changes, already = plan_config_patch(config, wanted)
    assert patch == {"postgresql": {"parameters": {"max_connections": "200", "old": None}}, "loop_wait": 5}
    assert {c.path for c in changes} == {"postgres.parameters.max_connections", "postgres.parameters.old",
                                        "postgres.patroni.loopWait"}
    assert set(already) == {"postgres.parameters.work_mem", "postgres.patroni.ttl"}


def test_patroni_patch_replaces_a_parameter_spelled_differently():
    patch, _, _ = plan_config_patch({"postgresql": {"parameters": {"DateStyle": "ISO"}}},
                                    {"postgres.parameters.datestyle": "ISO, DMY"})
    assert patch == {"postgresql": {"parameters": {"DateStyle": None, "datestyle": "ISO, DMY"}}}


def test_patroni_patch_writes_defaults_the_dcs_does_not_hold_without_calling_them_changes():
    patch, changes, already = plan_config_patch({}, {"postgres.patroni.synchronousMode": False})
    assert patch == {"synchronous_mode": False} and changes == [] and already == ["postgres.patroni.synchronousMode"]
    patch, changes, _ = plan_config_patch({"synchronous_mode": "off"}, {"postgres.patroni.synchronousMode": True})
    assert patch == {"synchronous_mode": True} and changes[0].before == "off"


def test_pending_restarts_lists_members():
    cluster = {"members": [{"name": "b", "pending_restart": True}, {"name": "a"}, {"name": "c", "pending_restart": True}]}
    assert pending_restarts(cluster) == ["b", "c"]


def test_redis_config_set_compares_units_and_skips_removed_keys():
    changes, already = plan_config_set({"maxmemory": "268435456", "maxmemory-policy": "noeviction"},
                                       {"redis.config.maxmemory": "256mb", "redis.config.maxmemory-policy": "allkeys-lru",
                                        "redis.config.gone": None})
    assert already == ["redis.config.maxmemory"]
    assert [(c.path, c.before, c.after) for c in changes] == [("redis.config.maxmemory-policy", "noeviction",
                                                               "allkeys-lru")]


def test_sentinel_set_uses_sentinel_option_names():
    changes, already = plan_sentinel_set({"down-after-milliseconds": "30000", "quorum": "2"},
                                         {"redis.sentinel.downAfterMilliseconds": 5000, "redis.sentinel.quorum": 2})
    assert already == ["redis.sentinel.quorum"]
    assert [(c.path, c.before, c.after) for c in changes] == [("redis.sentinel.downAfterMilliseconds", "30000", 5000)]


def test_summary_tells_spec_changes_from_corrections():
    previous = {"applied": {"postgres.parameters.work_mem": "4MB", "redis.config.maxmemory": "256mb"}}
    desired = {"postgres.parameters.work_mem": "8MB", "redis.config.maxmemory": "256mb"}
    wanted = dict(desired)
    results = [
        ActuationResult("postgres", changes=[Change("postgres.parameters.work_mem", "Patroni DCS", "4MB", "8MB")],
                        applied=["postgres.parameters.work_mem"]),
        ActuationResult("redis", changes=[Change("redis.config.maxmemory", "redis-1:6379", "1gb", "256mb")],
                        applied=["redis.config.maxmemory"]),
    ]
    outcome = summarize(previous, desired, wanted, results, "2026-01-01T00:00:00Z")
    assert outcome.record["applied"]["postgres.parameters.work_mem"] == "8MB"
    reasons = {e.reason: e.message for e in outcome.events}
    assert "postgres.parameters.work_mem on Patroni DCS: 4MB → 8MB" in reasons[EVENT_SETTINGS_APPLIED]
    assert "redis.config.maxmemory on redis-1:6379: 1gb → 256mb" in reasons["DriftCorrected"]
    assert "work_mem" not in reasons["DriftCorrected"]


def test_summary_keeps_applied_when_a_pass_fails():
    previous = {"applied": {"postgres.parameters.work_mem": "4MB"}}
    desired = {"postgres.parameters.work_mem": "8MB"}
    failed = ActuationResult("postgres", errors=["Patroni http://x:8008: ConnectError"])
    outcome = summarize(previous, desired, desired, [failed], "2026-01-01T00:00:00Z")
    assert outcome.record["applied"] == {"postgres.parameters.work_mem": "4MB"}
    assert outcome.record["errors"] == ["Patroni http://x:8008: ConnectError"]
    assert [e.reason for e in outcome.events] == ["ActuationFailed"]
    again = summarize(outcome.record, desired, desired, [failed], "2026-01-01T00:01:00Z")
    assert again.events == []  # the same failure is announced once


def test_retries_stop_at_a_refusal_and_retry_transient_errors():
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("refused")
        return "ok"

    assert asyncio.run(with_retries(flaky, attempts=3, within=10)) == "ok" and len(calls) == 3

    refusals = []

    async def refuse():
        refusals.append(1)
        raise Refused("no")

    with pytest.raises(Refused):
        asyncio.run(with_retries(refuse, attempts=3, within=10))
    assert len(refusals) == 1


# --- rolling restart ------------------------------------------------------------------------

from parity.actuate.outcome import summarize_roll, with_rolling  # noqa: E402
from parity.actuate.rolling import RESTART, SWITCHOVER, describe_plan, plan_next_step  # noqa: E402
from parity.status import reconciling_condition  # noqa: E402


def member(name, role="replica", state="streaming", pending=False, lag=0):
    return {"name": name, "role": role, "state": state, "pending_restart": pending, "lag": lag,
            "api_url": f"http://{name}:8008/patroni"}


def test_roll_restarts_replicas_first_one_at_a_time():
    cluster = {"members": [member("pg-0", "leader", "running", True), member("pg-1", "sync_standby", pending=True),
                           member("pg-2", pending=True)]}
    step = plan_next_step(cluster)
    assert (step.action, step.member, step.api_url) == (RESTART, "pg-1", "http://pg-1:8008")
    assert describe_plan(cluster) == "restarting replicas pg-1, pg-2; then switching over from pg-0 and restarting it"


def test_roll_waits_while_another_member_is_down():
    cluster = {"members": [member("pg-0", "leader", "running"), member("pg-1", state="starting"),
                           member("pg-2", pending=True)]}
    assert plan_next_step(cluster) is None


def test_roll_switches_over_to_the_synchronous_standby_before_restarting_the_leader():
    cluster = {"members": [member("pg-0", "leader", "running", True), member("pg-1", lag=0),
                           member("pg-2", "sync_standby", lag=10)]}
    step = plan_next_step(cluster)
    assert (step.action, step.member, step.candidate) == (SWITCHOVER, "pg-0", "pg-2")
    # Without synchronous mode: the replica with the least lag.
    cluster["members"][2]["role"] = "replica"
    assert plan_next_step(cluster).candidate == "pg-1"


def test_roll_of_a_single_member_restarts_it_in_place_and_stops_when_nothing_is_pending():
    assert plan_next_step({"members": [member("pg-0", "leader", "running", True)]}).action == RESTART
    assert plan_next_step({"members": [member("pg-0", "leader", "running"), member("pg-1")]}) is None


def test_rolling_shows_in_status_and_is_cleared_after_the_roll():
    record = with_rolling({"applied": {"a": "1"}}, "restarting replicas pg-1")
    condition = reconciling_condition("Ready", [], 3, rolling=record["rolling"])
    assert (condition["status"], condition["reason"]) == ("True", "RollingRestart")
    assert condition["message"] == "restarting replicas pg-1"
    done = summarize_roll(record, ActuationResult("postgres", changes=[
        Change("postgres.members", "pg-1", "pending restart", "restarted")]), "2026-01-01T00:00:00Z")
    assert "rolling" not in done.record and done.record["applied"] == {"a": "1"}
    assert [e.reason for e in done.events] == ["RollingRestart"]
    assert reconciling_condition("Ready", [], 3)["status"] == "False"


# --- approval -------------------------------------------------------------------------------

from parity.actuate.approval import (  # noqa: E402
    approved_settings,
    correction_id,
    parse_approvals,
    pending_corrections,
    render_approvals,
)
from parity.cli.drift import choose  # noqa: E402
from parity.cli.errors import CliError  # noqa: E402
from parity.drift.finding import Finding  # noqa: E402


def runtime_finding(path, local):
    return Finding(path=path, component=path.split(".")[0], level="runtime", change="modified", local=local)


def test_pending_corrections_name_the_values_and_the_action():
    desired = {"postgres.parameters.work_mem": "12MB", "redis.config.maxmemory": "256mb",
               "redis.sentinel.downAfterMilliseconds": 5000}
    findings = [runtime_finding("postgres.parameters.work_mem", "1GB"),
                runtime_finding("redis.sentinel.downAfterMilliseconds", 12345),
                runtime_finding("postgres.parameters.shared_buffers", "pending restart"),
                runtime_finding("etcd.replicas", 2)]
    pending = pending_corrections(findings, desired, "mymaster")
    assert [c["path"] for c in pending] == ["postgres.parameters.work_mem", "redis.sentinel.downAfterMilliseconds"]
    assert pending[0]["from"] == "1GB" and pending[0]["to"] == "12MB"
    assert "ALTER SYSTEM RESET work_mem" in pending[0]["action"]
    assert pending[1]["action"] == "SENTINEL SET mymaster down-after-milliseconds 5000 on every Sentinel"


def test_only_approved_unchanged_corrections_are_applied():
    desired = {"postgres.parameters.work_mem": "12MB", "redis.config.maxmemory": "256mb"}
    shown_then = pending_corrections([runtime_finding("postgres.parameters.work_mem", "1GB"),
                                      runtime_finding("redis.config.maxmemory", "100mb")], desired)
    approvals = parse_approvals(render_approvals(shown_then[:1]))  # approve work_mem only
    assert approved_settings(shown_then, approvals, desired) == {"postgres.parameters.work_mem": "12MB"}
    # The running value changed after the approval: another id, so nothing is applied.
    now = pending_corrections([runtime_finding("postgres.parameters.work_mem", "2GB")], desired)
    assert now[0]["id"] != shown_then[0]["id"]
    assert approved_settings(now, approvals, desired) == {}


def test_correction_ids_do_not_carry_credentials():
    assert "hunter2" not in correction_id("redis.config.masterauth", "hunter2", "other")
    pending = pending_corrections([runtime_finding("redis.config.masterauth", "hunter2")],
                                 {"redis.config.masterauth": "s3cret"})
    assert "hunter2" not in str(pending) and "s3cret" not in str(pending)


@pytest.mark.parametrize("text", ["not json", '{"path": "x"}', '[{"path": 1, "id": "a"}]'])
def test_malformed_approvals_are_refused_with_the_annotation_named(text):
    with pytest.raises(ValueError, match="approvals.parity.dev/corrections"):
        parse_approvals(text)


def test_cli_chooses_named_corrections_and_refuses_unknown_paths():
    pending = [{"path": "a", "id": "1"}, {"path": "b", "id": "2"}]
    assert choose(pending, [], "env") == pending
    assert choose(pending, ["b", "b"], "env") == [{"path": "b", "id": "2"}]
    with pytest.raises(CliError, match="--finding c: not a pending correction; pending: a, b"):
        choose(pending, ["c"], "env")
    with pytest.raises(CliError, match="no correction is pending"):
        choose([], [], "env")


def test_a_switchover_refused_for_a_stale_synchronous_standby_is_planned_again_from_a_fresh_read(monkeypatch):
    """Patroni moves the sync role a loop after a replica restarts: the first plan names the old
    sync standby and gets 412; the roll reads again, switches over to the new one, and finishes."""
    import asyncio
    import json

    import httpx

    from parity.actuate import rolling

    state = {"leader": "pg-0", "sync": "pg-2", "shown_sync": "pg-1", "pending": {"pg-0"}, "posts": []}

    def cluster() -> dict:
        members = []
        for name in ("pg-0", "pg-1", "pg-2"):
            role = "leader" if name == state["leader"] else "sync_standby" if name == state["shown_sync"] else "replica"
            members.append(member(name, role, "running" if role == "leader" else "streaming", name in state["pending"]))
        return {"members": members}

    async def read_cluster(client, urls):
        shown = cluster()
        state["shown_sync"] = state["sync"]  # the next read is fresh
        return urls[0], shown, {}, []

    def patroni(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        state["posts"].append((request.url.host, request.url.path, body.get("candidate")))
        if request.url.path == "/switchover":
            if body["candidate"] != state["sync"]:
                return httpx.Response(412, text="candidate name does not match with sync_standby")
            state["leader"] = body["candidate"]
            return httpx.Response(200, text="Successfully switched over")
        state["pending"].discard(request.url.host)
        return httpx.Response(200, text="restarted")

    real_client = httpx.AsyncClient
    monkeypatch.setattr(rolling, "read_cluster", read_cluster)
    monkeypatch.setattr(rolling.httpx, "AsyncClient",
                        lambda **kw: real_client(transport=httpx.MockTransport(patroni), **kw))
    real_sleep = asyncio.sleep
    monkeypatch.setattr(rolling.asyncio, "sleep", lambda _s: real_sleep(0))
    result = asyncio.run(rolling.roll_pending_restarts(["http://pg-0:8008"], budget=30))
    assert result.errors == []
    assert [c.after for c in result.changes] == ["switchover from pg-0 to pg-2", "restarted"]
    assert state["posts"] == [("pg-0", "/switchover", "pg-1"), ("pg-0", "/switchover", "pg-2"), ("pg-0", "/restart", None)]


def test_a_switchover_refused_for_good_ends_the_pass_with_the_reason(monkeypatch):
    import asyncio

    import httpx

    from parity.actuate import rolling

    async def read_cluster(client, urls):
        return urls[0], {"members": [member("pg-0", "leader", "running", True), member("pg-1", "sync_standby")]}, {}, []

    real_client = httpx.AsyncClient
    monkeypatch.setattr(rolling, "read_cluster", read_cluster)
    monkeypatch.setattr(rolling.httpx, "AsyncClient", lambda **kw: real_client(
        transport=httpx.MockTransport(lambda request: httpx.Response(412, text="not possible")), **kw))
    real_sleep = asyncio.sleep
    monkeypatch.setattr(rolling.asyncio, "sleep", lambda _s: real_sleep(0))
    result = asyncio.run(rolling.roll_pending_restarts(["http://pg-0:8008"], budget=30))
    assert result.changes == []
    assert len(result.errors) == 1 and "412 not possible" in result.errors[0]
