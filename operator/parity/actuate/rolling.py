"""Restart the PostgreSQL members that wait for a restart (`pending_restart`), in a safe order.

A parameter such as shared_buffers takes effect only when PostgreSQL restarts. Patroni marks each
member `pending_restart` once it has reloaded the new configuration. The roll:

1. replicas first, one at a time, each only while every other member is running — so the
   cluster never loses two members at once;
2. then a switchover from the leader to the synchronous standby (or, without synchronous mode,
   the healthy replica with the least lag), so the primary moves to a member that already has
   every acknowledged write;
3. then the old leader, now a replica, like any replica.

`plan_next_step` is pure: it looks at Patroni's /cluster and says what to do next, or nothing.
`roll_pending_restarts` repeats read → plan → act until nothing is pending or its time is up;
each step waits for the member to be back before the next one is planned.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Sequence

import httpx

from parity.actuate.base import ActuationResult, Change, Refused
from parity.probes.patroni import find_leader, read_cluster
from parity.probes.support import describe_error, normalize_url

HEALTHY = ("running", "streaming")
# A switchover Patroni refuses with 412 (a precondition: "candidate name does not match with
# sync_standby") is planned again from a fresh read, this many times at most per pass.
STALE_PLAN_RETRIES = 5
RESTART = "restart"
SWITCHOVER = "switchover"
ROLL_PATH = "postgres.members"


@dataclass(frozen=True)
class RollStep:
    action: str  # restart | switchover
    member: str  # the member restarted, or the leader switched away from
    api_url: str = ""
    candidate: str = ""

    def describe(self) -> str:
        if self.action == SWITCHOVER:
            return f"switchover from {self.member} to {self.candidate}"
        return f"restart of {self.member}"


class StalePlan(Refused):
    """Patroni refused a step for a precondition the cluster read no longer shows (412)."""


def plan_next_step(cluster: dict[str, Any]) -> RollStep | None:
    """The next step of the roll, or None when nothing is pending or it is not safe to go on
    (a member other than the one to restart is not running: wait for it). Pure."""
    members = cluster.get("members") or []
    if not any(m.get("pending_restart") for m in members):
        return None
    if any(m.get("state") not in HEALTHY for m in members):
        return None
    leader = find_leader(cluster)
    replicas = [m for m in members if m is not leader]
    pending_replicas = sorted((m for m in replicas if m.get("pending_restart")), key=lambda m: str(m.get("name")))
    if pending_replicas:
        member = pending_replicas[0]
        return RollStep(RESTART, str(member["name"]), _base(member))
    if leader is None or not leader.get("pending_restart"):
        return None
    candidate = _candidate(replicas)
    if candidate is None:
        # A single member: there is nobody to hand the primary to; restart it in place.
        return RollStep(RESTART, str(leader["name"]), _base(leader))
    return RollStep(SWITCHOVER, str(leader["name"]), _base(leader), str(candidate["name"]))


def _candidate(replicas: list[dict[str, Any]]) -> dict[str, Any] | None:
    sync = [m for m in replicas if m.get("role") == "sync_standby"]
    if sync:
        return sorted(sync, key=lambda m: str(m.get("name")))[0]
    eligible = [m for m in replicas if isinstance(m.get("lag"), int) and not (m.get("tags") or {}).get("nofailover")]
    return min(eligible, key=lambda m: (m["lag"], str(m.get("name"))), default=None)


def _base(member: dict[str, Any]) -> str:
    url = str(member.get("api_url") or "")
    return url[: -len("/patroni")] if url.endswith("/patroni") else url


def describe_plan(cluster: dict[str, Any]) -> str:
    """One line for status while a roll goes on: which members wait for a restart. Pure."""
    members = cluster.get("members") or []
    leader = find_leader(cluster)
    pending = sorted(str(m.get("name")) for m in members if m.get("pending_restart") and m is not leader)
    parts = []
    if pending:
        parts.append("restarting replicas " + ", ".join(pending))
    if leader is not None and leader.get("pending_restart"):
        parts.append(f"then switching over from {leader.get('name')} and restarting it")
    return "; ".join(parts) or "nothing to restart"


async def roll_pending_restarts(rest_urls: Sequence[str], *, auth: tuple[str, str] | None = None,
                                budget: float = 300.0, timeout: float = 10.0) -> ActuationResult:
    """Run the roll until nothing is pending or `budget` seconds are spent. Never raises."""
    result = ActuationResult("postgres")
    urls = [normalize_url(u) for u in rest_urls]
    deadline = time.monotonic() + budget
    try:
        stale_plans = 0
        async with httpx.AsyncClient(timeout=timeout, auth=auth) as client:
            while time.monotonic() < deadline:
                _, cluster, _, _ = await read_cluster(client, urls)
                step = plan_next_step(cluster)
                if step is None:
                    if any(m.get("pending_restart") for m in cluster.get("members") or []):
                        await asyncio.sleep(2)  # a member is not running yet: wait for it
                        continue
                    return result
                try:
                    await _act(client, urls, step, deadline)
                except StalePlan:
                    # The synchronous standby moves a Patroni loop after a replica restarts, so
                    # the read this step was planned from can already be old: read and plan again.
                    stale_plans += 1
                    if stale_plans > STALE_PLAN_RETRIES:
                        raise
                    await asyncio.sleep(2)
                    continue
                result.changes.append(Change(ROLL_PATH, step.member, "pending restart",
                                             step.describe() if step.action == SWITCHOVER else "restarted"))
            result.pending.append("the rolling restart did not finish in time; it goes on in the next pass")
    except Exception as err:  # noqa: BLE001 - reported, retried on the next pass
        result.errors.append(f"rolling restart: {describe_error(err)}")
    return result


async def _act(client: httpx.AsyncClient, urls: list[str], step: RollStep, deadline: float) -> None:
    if step.action == SWITCHOVER:
        response = await client.post(f"{step.api_url}/switchover", json={"leader": step.member,
                                                                         "candidate": step.candidate},
                                     timeout=max(30.0, client.timeout.read or 0))
        if response.status_code >= 400:
            refused = StalePlan if response.status_code == 412 else Refused
            raise refused(f"switchover {step.member} → {step.candidate}: {response.status_code} {response.text[:200]}")
        await _wait(client, urls, deadline, lambda c: (find_leader(c) or {}).get("name") == step.candidate)
        return
    response = await client.post(f"{step.api_url}/restart", json={"restart_pending": True},
                                 timeout=max(60.0, client.timeout.read or 0))
    if response.status_code >= 400:
        raise Refused(f"restart of {step.member}: {response.status_code} {response.text[:200]}")

    def back(cluster: dict[str, Any]) -> bool:
        member = next((m for m in cluster.get("members") or [] if m.get("name") == step.member), None)
        return member is not None and member.get("state") in HEALTHY and not member.get("pending_restart")

    await _wait(client, urls, deadline, back)


async def _wait(client: httpx.AsyncClient, urls: list[str], deadline: float, done) -> None:
    while time.monotonic() < deadline:
        try:
            _, cluster, _, _ = await read_cluster(client, urls)
            if done(cluster):
                return
        except ConnectionError:
            pass  # the member that answered is the one restarting: ask again
        await asyncio.sleep(1)
    raise TimeoutError("the member did not come back in time")
