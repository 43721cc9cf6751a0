"""Redis Sentinel failover drill: RPUSH numbered items, kill the primary, keep writing to
whichever node the Sentinels name, then check every acknowledged item is on the new primary.

Redis replicates asynchronously: an RPUSH the old primary acknowledged in its last moments may
never have reached the replica that gets promoted. The drill counts those losses; it does not
require zero (Sentinel makes no such promise).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from typing import Sequence

import redis.asyncio as aioredis

from parity.drill.common import DrillError, DrillSettings, Writer, drive_failover, verify_writes, wait_for
from parity.drill.killers import KillTarget, LeaderKiller
from parity.drill.report import MAX_EVENTS, DrillReport
from parity.probes.redis import REDIS_PORT, SENTINEL_PORT, client_for, pairs_to_dict
from parity.probes.support import format_address, split_host_port

KEY = "parity_drill"


async def sentinel_primary(sentinels: Sequence[str], group: str, password: str | None, timeout: float) -> str | None:
    """The address most reachable Sentinels name as primary of `group`."""

    async def ask(address: str) -> str | None:
        client = client_for(address, SENTINEL_PORT, password, timeout)
        try:
            answer = await client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", group)
            return format_address(answer[0], int(answer[1])) if answer else None
        except Exception:  # noqa: BLE001 - another Sentinel may answer
            return None
        finally:
            await client.aclose()

    votes = Counter(a for a in await asyncio.gather(*(ask(s) for s in sentinels)) if a)
    return votes.most_common(1)[0][0] if votes else None


async def role_of(address: str, password: str | None, timeout: float) -> str:
    client = client_for(address, REDIS_PORT, password, timeout)
    try:
        return str((await client.execute_command("ROLE"))[0])
    finally:
        await client.aclose()


def failover_wait_seconds(master: dict[str, str]) -> float | None:
    """The longest a Sentinel failover may legitimately take, from `SENTINEL MASTER` fields:
    down-after to see the primary down, then a round that may fail (a split vote, no replica
    fit), after which no Sentinel that voted tries again for 2 × failover-timeout; plus 10 s
    to finish. None when the fields are missing."""
    try:
        down_after = int(master["down-after-milliseconds"]) / 1000
        failover_timeout = int(master["failover-timeout"]) / 1000
    except (KeyError, ValueError):
        return None
    return down_after + 2 * failover_timeout + 10


async def sentinel_master(sentinels: Sequence[str], group: str, password: str | None, timeout: float) -> dict[str, str]:
    """`SENTINEL MASTER group` from the first Sentinel that answers, as a dict ({} if none does)."""
    for address in sentinels:
        client = client_for(address, SENTINEL_PORT, password, timeout)
        try:
            answer = await client.execute_command("SENTINEL", "MASTER", group)
        except Exception:  # noqa: BLE001 - another Sentinel may answer
            continue
        finally:
            await client.aclose()
        return {key: str(value) for key, value in pairs_to_dict(answer).items()}
    return {}


class SentinelEvents:
    """Every Sentinel's published events (`PSUBSCRIBE *`: +sdown, +odown, +try-failover,
    +elected-leader, -failover-abort-*, +switch-master, +tilt, ...) while the drill runs: the
    Sentinels' own account of why a failover was quick, slow or missing."""

    def __init__(self, sentinels: Sequence[str], password: str | None, timeout: float):
        self.sentinels = sentinels
        self.password = password
        self.timeout = timeout
        self.seen: list[tuple[float, str]] = []  # (monotonic seconds, "sentinel-0 +odown master ...")
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        subscribed = [asyncio.get_running_loop().create_future() for _ in self.sentinels]
        self._tasks = [asyncio.create_task(self._follow(a, f)) for a, f in zip(self.sentinels, subscribed)]
        # Subscribed (or failed to) before the kill, so no early event is missed.
        await asyncio.wait(subscribed, timeout=self.timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, address: str, subscribed: asyncio.Future) -> None:
        host = split_host_port(address, SENTINEL_PORT)[0]
        # A pod's DNS name by its first label (dev-sentinel-0); an address as given.
        name = address if host.replace(".", "").isdigit() or ":" in host else host.split(".", 1)[0]
        client = client_for(address, SENTINEL_PORT, self.password, self.timeout)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe("*")
            subscribed.set_result(True)
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message:
                    self.seen.append((time.monotonic(), f"{name} {message['channel']} {message['data']}"))
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - one Sentinel's stream lost; say so among the events
            self.seen.append((time.monotonic(), f"{name}: event stream lost ({type(err).__name__})"))
        finally:
            if not subscribed.done():
                subscribed.set_result(False)
            await pubsub.aclose()
            await client.aclose()

    def lines(self, since: float) -> tuple[list[str], int]:
        """Events as `+1.2s sentinel-0 +odown ...` from `since`, at most MAX_EVENTS; and how many more."""
        ordered = sorted(self.seen)
        kept = [f"{at - since:+.1f}s {text}" for at, text in ordered[:MAX_EVENTS]]
        return kept, max(0, len(ordered) - MAX_EVENTS)


class _TimedKiller:
    """Remembers when the kill started, so events can be told relative to it."""

    def __init__(self, inner: LeaderKiller):
        self.inner = inner
        self.started: float | None = None

    async def kill(self, target: KillTarget) -> str:
        self.started = time.monotonic()
        return await self.inner.kill(target)


class RedisWriter(Writer):
    """RPUSHes to whichever node the Sentinels name primary, once it reports that role."""

    def __init__(
        self,
        sentinels: Sequence[str],
        group: str,
        password: str | None,
        sentinel_password: str | None,
        start_seq: int,
        settings: DrillSettings,
    ):
        super().__init__(start_seq, settings, secrets=[password])
        self.sentinels = sentinels
        self.group = group
        self.password = password
        self.sentinel_password = sentinel_password

    async def _open(self) -> tuple[aioredis.Redis, str]:
        primary = await sentinel_primary(
            self.sentinels, self.group, self.sentinel_password, self.settings.write_timeout
        )
        if primary is None:
            raise DrillError("no Sentinel names a primary")
        # Sentinel keeps naming the dead primary until it fails over: check before writing.
        if await role_of(primary, self.password, self.settings.write_timeout) != "master":
            raise DrillError(f"{primary} is not a primary (yet)")
        return client_for(primary, REDIS_PORT, self.password, self.settings.write_timeout), primary

    async def _write(self, connection: aioredis.Redis, seq: int) -> None:
        # READONLY, a lost connection or a timeout all leave the item unacknowledged.
        await connection.rpush(KEY, seq)

    async def _close(self, connection: aioredis.Redis) -> None:
        await connection.aclose()


async def read_items(address: str, password: str | None, timeout: float) -> list[int]:
    client = client_for(address, REDIS_PORT, password, timeout)
    try:
        return [int(v) for v in await client.lrange(KEY, 0, -1)]
    finally:
        await client.aclose()


async def last_item(address: str, password: str | None, timeout: float) -> int:
    client = client_for(address, REDIS_PORT, password, timeout)
    try:
        value = await client.lindex(KEY, -1)
        return int(value) if value is not None else 0
    finally:
        await client.aclose()


async def run_redis_drill(
    sentinels: Sequence[str],
    master_group_name: str,
    killer: LeaderKiller,
    password: str | None = None,
    settings: DrillSettings | None = None,
    *,
    sentinel_password: str | None = None,
) -> DrillReport:
    """One drill against the group the Sentinels monitor. Raises DrillError only when it cannot start."""
    settings = settings or DrillSettings()
    report = DrillReport(kind="redis", synchronous=False)
    started = time.monotonic()

    async def primary_ready() -> str | None:
        primary = await sentinel_primary(sentinels, master_group_name, sentinel_password, settings.write_timeout)
        if primary and await role_of(primary, password, settings.write_timeout) == "master":
            return primary
        return None

    old = await wait_for(
        primary_ready,
        settings.ready_timeout,
        f"no primary for {master_group_name!r} from Sentinels {', '.join(sentinels)}",
    )
    report.old_leader = old
    if settings.timeout is None:
        wait = failover_wait_seconds(
            await sentinel_master(sentinels, master_group_name, sentinel_password, settings.write_timeout))
        if wait is None:
            raise DrillError(f"no Sentinel reports down-after-milliseconds and failover-timeout of {master_group_name!r}")
        settings = replace(settings, timeout=wait)
    report.failover_wait_seconds = settings.timeout
    start_seq = await last_item(old, password, settings.write_timeout) + 1

    writer = RedisWriter(sentinels, master_group_name, password, sentinel_password, start_seq, settings)
    host, port = split_host_port(old, REDIS_PORT)

    async def new_primary() -> str | None:
        primary = await primary_ready()
        return primary if primary and primary != old else None

    events = SentinelEvents(sentinels, sentinel_password, settings.write_timeout)
    timed = _TimedKiller(killer)
    await events.start()
    try:
        failed_over = await drive_failover(
            report, writer, timed, KillTarget("redis", old, host, port), old, new_primary, settings, "primary"
        )
    finally:
        await events.stop()
        report.events, report.events_dropped = events.lines(timed.started or started)
    if not failed_over:
        return report

    async def read_acked_items() -> list[int]:
        current = await primary_ready()
        if current is None:
            raise DrillError("no primary to verify on")
        return [v for v in await read_items(current, password, settings.write_timeout) if v >= start_seq]

    if report.error is None:
        await verify_writes(report, writer.log.acks, read_acked_items, password)
    report.duration_seconds = time.monotonic() - started
    return report
