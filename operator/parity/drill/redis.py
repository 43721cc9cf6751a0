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
from typing import Sequence

import redis.asyncio as aioredis

from parity.drill.common import DrillError, DrillSettings, Writer, drive_failover, verify_writes, wait_for
from parity.drill.killers import KillTarget, LeaderKiller
from parity.drill.report import DrillReport
from parity.probes.redis import REDIS_PORT, SENTINEL_PORT, client_for
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
    start_seq = await last_item(old, password, settings.write_timeout) + 1

    writer = RedisWriter(sentinels, master_group_name, password, sentinel_password, start_seq, settings)
    host, port = split_host_port(old, REDIS_PORT)

    async def new_primary() -> str | None:
        primary = await primary_ready()
        return primary if primary and primary != old else None

    if not await drive_failover(
        report, writer, killer, KillTarget("redis", old, host, port), old, new_primary, settings, "primary"
    ):
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
