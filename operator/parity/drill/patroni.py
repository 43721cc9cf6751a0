"""Patroni failover drill: write numbered rows, kill the leader, keep writing, check every
acknowledged row survived.

A write counts as acknowledged when its COMMIT returned. With synchronous_mode on, Patroni
promotes only a synchronous standby, which had flushed every acknowledged commit, so none may be
lost; without it, the rows the old leader acknowledged but had not shipped are lost, and the
drill counts them. The writer finds the primary through Patroni's REST API (the leader's
advertised host and port), so it follows the failover the way a Patroni-aware client would.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Sequence

import httpx
import psycopg

from parity.drill.common import DrillError, DrillSettings, WriteLog, wait_for, wait_until_true
from parity.drill.killers import KillError, KillTarget, LeaderKiller
from parity.drill.report import MAX_LISTED_LOST, Ack, DrillReport, find_lost, measure_outage
from parity.probes.patroni import find_leader
from parity.probes.support import build_conninfo, conninfo_params, describe_error, normalize_url, redact_secrets
from parity.probes.units import parse_bool

TABLE = "parity_drill"
CREATE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (seq bigint PRIMARY KEY, ts timestamptz NOT NULL)"


@dataclass
class Member:
    name: str
    host: str
    port: int
    api_url: str | None


async def read_patroni(client: httpx.AsyncClient, urls: Sequence[str]) -> tuple[dict, dict]:
    """(/cluster, /config) from the first REST URL that answers."""
    errors = []
    for url in urls:
        try:
            cluster = (await client.get(f"{url}/cluster")).raise_for_status().json()
            config = (await client.get(f"{url}/config")).raise_for_status().json()
            return cluster, config
        except Exception as err:  # noqa: BLE001 - the next member may answer
            errors.append(f"{url}: {describe_error(err)}")
    raise DrillError("no Patroni REST API answered: " + "; ".join(errors))


def running_leader(cluster: dict) -> Member | None:
    leader = find_leader(cluster)
    if leader is None or leader.get("state") != "running" or not leader.get("host"):
        return None
    return Member(leader["name"], leader["host"], int(leader.get("port") or 5432), leader.get("api_url"))


class PatroniWriter:
    """Writes seq, seq+1, ... to whichever node Patroni names leader, recording acknowledgements."""

    def __init__(
        self,
        urls: Sequence[str],
        dsn: str | dict,
        start_seq: int,
        settings: DrillSettings,
        client: httpx.AsyncClient,
    ):
        self.urls = urls
        self.dsn = dsn
        self.seq = start_seq
        self.settings = settings
        self.client = client
        self.log = WriteLog()
        self.stopped = asyncio.Event()
        self.conn: psycopg.AsyncConnection | None = None
        self.node: str | None = None

    async def _connect(self) -> None:
        cluster, _ = await read_patroni(self.client, self.urls)
        leader = running_leader(cluster)
        if leader is None:
            raise DrillError("no running leader yet")
        conninfo = build_conninfo(self.dsn, host=leader.host, port=leader.port, connect_timeout=2)
        conn = await asyncio.wait_for(
            psycopg.AsyncConnection.connect(conninfo, autocommit=True), self.settings.write_timeout
        )
        cur = await conn.execute("SELECT pg_is_in_recovery()")
        if (await cur.fetchone())[0]:
            await conn.close()
            raise DrillError(f"{leader.name} is still in recovery")
        self.conn, self.node = conn, leader.name

    async def _drop(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                await asyncio.wait_for(conn.close(), 1)
            except Exception:  # noqa: BLE001 - the server is gone; closing is a courtesy
                pass

    async def run(self) -> None:
        while not self.stopped.is_set():
            if self.conn is None:
                try:
                    await self._connect()
                except Exception as err:  # noqa: BLE001 - no writable primary yet: try again
                    self.log.last_error = describe_error(err)
                    await asyncio.sleep(0.1)
                    continue
            seq = self.seq
            self.seq += 1
            self.log.attempted += 1
            try:
                await asyncio.wait_for(
                    self.conn.execute(f"INSERT INTO {TABLE} (seq, ts) VALUES (%s, now())", (seq,)),
                    self.settings.write_timeout,
                )
                self.log.acks.append(Ack(seq, time.monotonic(), self.node or "?"))
            except Exception as err:  # noqa: BLE001 - the write failed or its fate is unknown: not acknowledged
                self.log.failed += 1
                self.log.last_error = describe_error(err)
                await self._drop()
                continue
            await asyncio.sleep(self.settings.interval)
        await self._drop()


async def run_patroni_drill(
    rest_urls: str | Sequence[str],
    dsn: str | dict,
    killer: LeaderKiller,
    settings: DrillSettings | None = None,
) -> DrillReport:
    """Run one drill and report; raises DrillError only when it cannot start at all.

    `dsn` gives credentials and database (its host, if any, is replaced by the leader's).
    """
    settings = settings or DrillSettings()
    urls = [normalize_url(u) for u in ([rest_urls] if isinstance(rest_urls, str) else rest_urls)]
    password = conninfo_params(dsn).get("password")
    report = DrillReport(kind="patroni")
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=3.0) as client:

        async def ready() -> tuple[Member, dict] | None:
            cluster, config = await read_patroni(client, urls)
            leader = running_leader(cluster)
            if leader is None:
                return None
            roles = [m.get("role") for m in cluster.get("members", [])]
            if parse_bool(config.get("synchronous_mode")) and "sync_standby" not in roles:
                return None
            return leader, config

        leader, config = await wait_for(
            ready, settings.ready_timeout, "no running leader (and synchronous standby, if synchronous_mode is on)"
        )
        report.old_leader = leader.name
        report.synchronous = bool(parse_bool(config.get("synchronous_mode")))
        report.zero_loss_required = report.synchronous
        try:
            start_seq = await prepare_table(build_conninfo(dsn, host=leader.host, port=leader.port, connect_timeout=3))
        except Exception as err:  # noqa: BLE001
            reason = redact_secrets(describe_error(err), [password])
            where = f"{leader.name} ({leader.host}:{leader.port})"
            raise DrillError(f"cannot prepare {TABLE} on {where}: {reason}") from None

        writer = PatroniWriter(urls, dsn, start_seq, settings, client)
        task = asyncio.create_task(writer.run())
        try:
            await wait_until_true(
                lambda: len(writer.log.acks) >= settings.warmup_writes,
                settings.ready_timeout,
                "no writes acknowledged before the kill",
                interval=0.02,
            )
            target = KillTarget("postgres", leader.name, leader.host, leader.port, leader.api_url)
            killed_at = time.monotonic()
            try:
                report.killed = await killer.kill(target)
            except KillError as err:
                report.error = str(err)
                return report

            async def new_leader() -> Member | None:
                cluster, _ = await read_patroni(client, urls)
                candidate = running_leader(cluster)
                return candidate if candidate is not None and candidate.name != leader.name else None

            try:
                elected = await wait_for(new_leader, settings.timeout, "no new leader")
                report.new_leader = elected.name
                report.leader_elected_seconds = time.monotonic() - killed_at
                await wait_until_true(
                    lambda: any(a.node != leader.name for a in writer.log.acks),
                    settings.timeout,
                    "no write acknowledged by the new leader",
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
        report.acked_before_kill = sum(1 for a in acks if a.node == leader.name)
        report.acked_after_kill = report.acked_writes - report.acked_before_kill
        report.unavailable_seconds = measure_outage(acks, leader.name).seconds
        if report.error is None:
            try:
                cluster, _ = await read_patroni(client, urls)
                current = running_leader(cluster)
                if current is None:
                    raise DrillError("no leader to verify on")
                conninfo = build_conninfo(dsn, host=current.host, port=current.port, connect_timeout=3)
                present = await read_present(conninfo, start_seq, writer.seq)
            except Exception as err:  # noqa: BLE001
                report.error = f"cannot verify the writes: {redact_secrets(describe_error(err), [password])}"
            else:
                acked = {a.seq for a in acks}
                lost = find_lost(acked, present)
                report.present_acked = len(acked) - len(lost)
                report.lost_acked_writes = len(lost)
                report.lost_seqs = lost[:MAX_LISTED_LOST]
                report.unacked_but_present = len(set(present) - acked)
    report.duration_seconds = time.monotonic() - started
    return report


async def prepare_table(conninfo: str) -> int:
    """Create the drill table if needed; the first sequence number of this run (after any earlier run's)."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(CREATE_TABLE)
        cur = await conn.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {TABLE}")
        return int((await cur.fetchone())[0])


async def read_present(conninfo: str, first: int, last: int) -> list[int]:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cur = await conn.execute(f"SELECT seq FROM {TABLE} WHERE seq >= %s AND seq <= %s", (first, last))
        return [row[0] for row in await cur.fetchall()]
