"""Read PostgreSQL's effective settings and replication state with psycopg 3 (async).

pg_settings is the truth about a running server: what postgresql.conf, Patroni's command line
and ALTER SYSTEM together produced. `pending_restart` marks values accepted but not yet applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import psycopg

from parity import constants
from parity.probes.base import ProbeResult
from parity.probes.support import (
    build_conninfo,
    conninfo_params,
    describe_conninfo,
    describe_error,
    redact_secrets,
    within,
)
from parity.probes.units import normalize_pg_setting

COMPONENT = "postgres"
# Sources that say nothing about the server's configuration: built-in defaults, values PostgreSQL
# derives itself (override), and the probing session's own (client, session).
UNCONFIGURED_SOURCES = ("default", "override", "client", "session")
# Settings whose value can carry a password (primary_conninfo on a replica, a passphrase
# command): shown redacted. password_encryption names an algorithm and stays visible.
SECRET_SETTING = re.compile(r"conninfo|passphrase", re.IGNORECASE)

SETTINGS_COLUMNS = "name, setting, unit, vartype, source, pending_restart"
REPLICATION_QUERY = """
SELECT application_name, client_addr::text, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn)::bigint AS sent_lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes,
       extract(epoch FROM write_lag)::float8 AS write_lag_seconds,
       extract(epoch FROM flush_lag)::float8 AS flush_lag_seconds,
       extract(epoch FROM replay_lag)::float8 AS replay_lag_seconds
FROM pg_stat_replication
ORDER BY application_name
"""


@dataclass(frozen=True)
class PostgresReading:
    endpoint: str
    version_num: int
    in_recovery: bool
    settings: dict[str, Any]
    raw_settings: dict[str, dict[str, Any]]
    pending_restart: tuple[str, ...] = ()
    replication: tuple[dict[str, Any], ...] = ()
    unknown_parameters: tuple[str, ...] = ()

    @property
    def major_version(self) -> str:
        return str(self.version_num // 10000)


def settings_query(parameter_names: Iterable[str] | None) -> tuple[str, tuple]:
    if parameter_names is None:
        return (
            f"SELECT {SETTINGS_COLUMNS} FROM pg_settings WHERE source <> ALL(%s) ORDER BY name",
            (list(UNCONFIGURED_SOURCES),),
        )
    # PostgreSQL's parameter names are case-insensitive (DateStyle, TimeZone): match them so.
    lowered = sorted({n.lower() for n in parameter_names})
    return f"SELECT {SETTINGS_COLUMNS} FROM pg_settings WHERE lower(name) = ANY(%s) ORDER BY name", (lowered,)


def normalize_settings_rows(
    rows: Iterable[tuple], spelling: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], tuple[str, ...]]:
    """pg_settings rows → (canonical values, raw rows for inspect, names pending a restart). Pure.

    `spelling` maps lower-cased names to the spelling the caller asked for (the spec's), so that
    values come back under the spec's keys.
    """
    values: dict[str, Any] = {}
    raw: dict[str, dict[str, Any]] = {}
    pending = []
    for pg_name, setting, unit, vartype, source, pending_restart in rows:
        name = (spelling or {}).get(pg_name.lower(), pg_name)
        secret = bool(SECRET_SETTING.search(name)) and bool(setting)
        values[name] = constants.REDACTED if secret else normalize_pg_setting(setting, unit, vartype)
        raw[name] = {
            "setting": constants.REDACTED if secret else setting,
            "unit": unit,
            "source": source,
            "pendingRestart": bool(pending_restart),
        }
        if pending_restart:
            pending.append(name)
    return values, raw, tuple(pending)


async def read_postgres(
    dsn_or_params: str | dict,
    parameter_names: Iterable[str] | None = None,
    timeout: float = 5.0,
    **overrides: Any,
) -> PostgresReading:
    """One connection, a handful of catalogue queries. Raises on failure (callers turn it into a result)."""
    spelling = None if parameter_names is None else {n.lower(): n for n in parameter_names}
    # libpq's connect_timeout is whole seconds, at least 2; the asyncio deadline is the real bound.
    conninfo = build_conninfo(dsn_or_params, connect_timeout=max(2, int(timeout)), **overrides)
    endpoint = describe_conninfo(conninfo)

    async def read() -> PostgresReading:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT current_setting('server_version_num')::int, pg_is_in_recovery()"
            )
            version_num, in_recovery = await cur.fetchone()
            query, params = settings_query(None if spelling is None else spelling.values())
            cur = await conn.execute(query, params)
            values, raw, pending = normalize_settings_rows(await cur.fetchall(), spelling)
            replication: list[dict[str, Any]] = []
            if not in_recovery:
                cur = await conn.execute(REPLICATION_QUERY)
                columns = [c.name for c in cur.description]
                replication = [dict(zip(columns, row)) for row in await cur.fetchall()]
            unknown = tuple(sorted(set(spelling.values()) - set(values))) if spelling is not None else ()
            return PostgresReading(
                endpoint=endpoint,
                version_num=version_num,
                in_recovery=in_recovery,
                settings=values,
                raw_settings=raw,
                pending_restart=pending,
                replication=tuple(replication),
                unknown_parameters=unknown,
            )

    return await within(timeout, read())


def postgres_values(reading: PostgresReading) -> dict[str, Any]:
    """Spec-path values from one reading. Pure."""
    values: dict[str, Any] = {"postgres.version": reading.major_version}
    values.update({f"postgres.parameters.{name}": value for name, value in reading.settings.items()})
    return values


async def probe_postgres(
    dsn_or_params: str | dict,
    parameter_names: Iterable[str] | None = None,
    timeout: float = 5.0,
) -> ProbeResult:
    """PostgreSQL alone (no Patroni): version and parameters of the server the DSN names."""
    endpoint = describe_conninfo(dsn_or_params)
    password = conninfo_params(dsn_or_params).get("password")
    try:
        reading = await read_postgres(dsn_or_params, parameter_names, timeout)
    except Exception as err:  # noqa: BLE001 - a probe reports, it does not raise
        return ProbeResult(COMPONENT, endpoint, error=f"{endpoint}: {redact_secrets(describe_error(err), [password])}")
    return ProbeResult(
        COMPONENT,
        reading.endpoint,
        values=postgres_values(reading),
        details={
            "inRecovery": reading.in_recovery,
            "settings": reading.raw_settings,
            "replication": list(reading.replication),
            "unknownParameters": list(reading.unknown_parameters),
        },
        pending_restart=reading.pending_restart,
    )

