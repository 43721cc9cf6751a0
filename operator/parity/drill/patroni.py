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
from dataclasses import dataclass, replace
from typing import Sequence

import httpx
import psycopg

from parity.drill.common import (
    PATRONI_FAILOVER_WAIT,
    DrillError,
    DrillSettings,
    Writer,
    drive_failover,
    verify_writes,
    wait_for,
)
from parity.drill.killers import KillTarget, LeaderKiller
from parity.drill.report import DrillReport
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


class PatroniWriter(Writer):
    """Writes to whichever node Patroni names leader, once it has left recovery — or, with
    `through_service`, to the DSN's own host (the environment's primary Service), as an
    application would: then the drill also proves that the Service follows the new leader."""

    def __init__(
        self,
        urls: Sequence[str],
        dsn: str | dict,
        start_seq: int,
        settings: DrillSettings,
        client: httpx.AsyncClient,
        through_service: bool = False,
    ):
        # Write errors end up in the report: the password must never be in them.
        super().__init__(start_seq, settings, secrets=[conninfo_params(dsn).get("password")])
        self.urls = urls
        self.dsn = dsn
        self.client = client
        self.through_service = through_service

    async def _open(self) -> tuple[psycopg.AsyncConnection, str]:
        if self.through_service:
            conninfo = build_conninfo(self.dsn, connect_timeout=2)
            conn = await asyncio.wait_for(
                psycopg.AsyncConnection.connect(conninfo, autocommit=True), self.settings.write_timeout
            )
            cur = await conn.execute("SELECT pg_is_in_recovery(), host(inet_server_addr())")
            in_recovery, address = await cur.fetchone()
            if in_recovery:
                await conn.close()
                raise DrillError(f"the primary Service routes to {address}, which is in recovery")
            # Name the member by its address, so that acknowledgements count for the right leader.
            cluster, _ = await read_patroni(self.client, self.urls)
            member = next((m.get("name") for m in cluster.get("members", []) if m.get("host") == address), None)
            return conn, str(member or address)
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
        return conn, leader.name

    async def _write(self, connection: psycopg.AsyncConnection, seq: int) -> None:
        await connection.execute(f"INSERT INTO {TABLE} (seq, ts) VALUES (%s, now())", (seq,))

    async def _close(self, connection: psycopg.AsyncConnection) -> None:
        await connection.close()


async def run_patroni_drill(
    rest_urls: str | Sequence[str],
    dsn: str | dict,
    killer: LeaderKiller,
    settings: DrillSettings | None = None,
    *,
    through_service: bool = False,
) -> DrillReport:
    """Run one drill and report; raises DrillError only when it cannot start at all.

    `dsn` gives credentials and database; its host, if any, is replaced by the leader's unless
    `through_service` (then every write goes to the DSN's host: the primary Service).
    """
    settings = settings or DrillSettings()
    if settings.timeout is None:
        settings = replace(settings, timeout=PATRONI_FAILOVER_WAIT)
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

        writer = PatroniWriter(urls, dsn, start_seq, settings, client, through_service=through_service)
        target = KillTarget("postgres", leader.name, leader.host, leader.port, leader.api_url)

        async def new_leader() -> str | None:
            cluster, _ = await read_patroni(client, urls)
            candidate = running_leader(cluster)
            return candidate.name if candidate is not None and candidate.name != leader.name else None

        if not await drive_failover(report, writer, killer, target, leader.name, new_leader, settings, "leader"):
            return report

        async def read_acked_rows() -> list[int]:
            cluster, _ = await read_patroni(client, urls)
            current = running_leader(cluster)
            if current is None:
                raise DrillError("no leader to verify on")
            conninfo = build_conninfo(dsn, host=current.host, port=current.port, connect_timeout=3)
            return await read_present(conninfo, start_seq, writer.seq)

        if report.error is None:
            await verify_writes(report, writer.log.acks, read_acked_rows, password)
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
