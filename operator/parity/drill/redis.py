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

from parity.drill.killers import KillError, KillTarget, LeaderKiller
from parity.drill.common import DrillError, DrillSettings, WriteLog, wait_for, wait_until_true
from parity.drill.report import MAX_LISTED_LOST, Ack, DrillReport, find_lost, measure_outage
from parity.probes.redis import REDIS_PORT, SENTINEL_PORT, client_for
from parity.probes.support import describe_error, format_address, redact_secrets, split_host_port

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


class RedisWriter:
    def __init__(
        self,
        sentinels: Sequence[str],
        group: str,
        password: str | None,
        sentinel_password: str | None,
        start_seq: int,
        settings: DrillSettings,
    ):
        self.sentinels = sentinels
        self.group = group
        self.password = password
        self.sentinel_password = sentinel_password
        self.seq = start_seq
        self.settings = settings
        self.log = WriteLog()
        self.stopped = asyncio.Event()
        self.client: aioredis.Redis | None = None
        self.node: str | None = None

    async def _connect(self) -> None:
        primary = await sentinel_primary(
            self.sentinels, self.group, self.sentinel_password, self.settings.write_timeout
        )
        if primary is None:
            raise DrillError("no Sentinel names a primary")
        # Sentinel keeps naming the dead primary until it fails over: check before writing.
        if await role_of(primary, self.password, self.settings.write_timeout) != "master":
            raise DrillError(f"{primary} is not a primary (yet)")
        self.client = client_for(primary, REDIS_PORT, self.password, self.settings.write_timeout)
        self.node = primary

    async def _drop(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            try:
                await asyncio.wait_for(client.aclose(), 1)
            except Exception:  # noqa: BLE001
                pass

    async def run(self) -> None:
        while not self.stopped.is_set():
            if self.client is None:
                try:
                    await self._connect()
                except Exception as err:  # noqa: BLE001
                    self.log.last_error = redact_secrets(describe_error(err), [self.password])
                    await asyncio.sleep(0.1)
                    continue
            seq = self.seq
            self.seq += 1
            self.log.attempted += 1
            try:
                await asyncio.wait_for(self.client.rpush(KEY, seq), self.settings.write_timeout)
                self.log.acks.append(Ack(seq, time.monotonic(), self.node or "?"))
            except Exception as err:  # noqa: BLE001 - READONLY, connection lost, timeout: not acknowledged
                self.log.failed += 1
                self.log.last_error = redact_secrets(describe_error(err), [self.password])
                await self._drop()
                continue
            await asyncio.sleep(self.settings.interval)
        await self._drop()


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
    task = asyncio.create_task(writer.run())
    try:
        await wait_until_true(
            lambda: len(writer.log.acks) >= settings.warmup_writes,
            settings.ready_timeout,
            "no writes acknowledged before the kill",
            interval=0.02,
        )
        host, port = split_host_port(old, REDIS_PORT)
        killed_at = time.monotonic()
        try:
            report.killed = await killer.kill(KillTarget("redis", old, host, port))
        except KillError as err:
            report.error = str(err)
            return report

        async def new_primary() -> str | None:
            primary = await primary_ready()
            return primary if primary and primary != old else None

        try:
            report.new_leader = await wait_for(new_primary, settings.timeout, "no new primary")
            report.leader_elected_seconds = time.monotonic() - killed_at
            await wait_until_true(
                lambda: any(a.node != old for a in writer.log.acks),
                settings.timeout,
                "no write acknowledged by the new primary",
            )
            await asyncio.sleep(settings.settle_seconds)
        except DrillError as err:
            report.error = f"{err}; last write error: {writer.log.last_error}"
    finally:
        writer.stopped.set()
        await asyncio.wait_for(task, settings.write_timeout + 5)

    acks = writer.log.acks
    report.attempted_writes = writer.log.attempted
    report.acked_writes = len(acks)
    report.failed_writes = writer.log.failed
    report.acked_before_kill = sum(1 for a in acks if a.node == old)
    report.acked_after_kill = report.acked_writes - report.acked_before_kill
    report.unavailable_seconds = measure_outage(acks, old).seconds
    if report.error is None:
        try:
            current = await primary_ready()
            if current is None:
                raise DrillError("no primary to verify on")
            items = [v for v in await read_items(current, password, settings.write_timeout) if v >= start_seq]
        except Exception as err:  # noqa: BLE001
            report.error = f"cannot verify the writes: {redact_secrets(describe_error(err), [password])}"
        else:
            acked = {a.seq for a in acks}
            lost = find_lost(acked, items)
            report.present_acked = len(acked) - len(lost)
            report.lost_acked_writes = len(lost)
            report.lost_seqs = lost[:MAX_LISTED_LOST]
            report.unacked_but_present = len(set(items) - acked)
    report.duration_seconds = time.monotonic() - started
    return report
