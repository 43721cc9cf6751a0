"""Read a Patroni cluster: REST `/cluster`, `/config`, each member's `/patroni`, plus pg_settings.

Patroni's REST API answers on every member; any one of them describes the whole cluster (it reads
the DCS), so the probe asks the given URLs in order and uses the first that answers. PostgreSQL is
read on the leader: when the DSN names no host, the leader's host and port as Patroni advertises
them are used, so the probe follows a failover by itself.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable, Sequence

import httpx

from parity.probes.base import ProbeResult
from parity.probes.postgres import PostgresReading, postgres_values, read_postgres
from parity.probes.support import (
    CRITICAL,
    WARNING,
    Deadline,
    conninfo_params,
    describe_conninfo,
    describe_error,
    normalize_url,
    problem,
    redact_secrets,
)
from parity.probes.units import parse_bool

COMPONENT = "postgres"
# Patroni's own defaults: a key missing from /config is in effect with this value.
PATRONI_DEFAULTS: dict[str, Any] = {
    "ttl": 30,
    "loop_wait": 10,
    "retry_timeout": 10,
    "maximum_lag_on_failover": 1048576,
    "synchronous_mode": False,
    "failsafe_mode": False,
}
# DCS key → spec path under postgres.patroni (camelCase, as the spec is written).
PATRONI_SPEC_KEYS = {
    "ttl": "ttl",
    "loop_wait": "loopWait",
    "retry_timeout": "retryTimeout",
    "maximum_lag_on_failover": "maximumLagOnFailover",
    "synchronous_mode": "synchronousMode",
    "failsafe_mode": "failsafeMode",
}
BOOLEAN_KEYS = ("synchronous_mode", "failsafe_mode")
REPLICA_ROLES = ("replica", "sync_standby", "standby_leader")


def patroni_values(config: dict[str, Any]) -> dict[str, Any]:
    """`postgres.patroni.*` values from Patroni's dynamic configuration, defaults filled in. Pure."""
    values = {}
    for key, spec_key in PATRONI_SPEC_KEYS.items():
        raw = config.get(key, PATRONI_DEFAULTS[key])
        if key in BOOLEAN_KEYS:
            value = parse_bool(raw)
            value = raw if value is None else value
        else:
            try:
                value = int(raw)
            except (TypeError, ValueError):
                value = raw
        values[f"postgres.patroni.{spec_key}"] = value
    return values


def find_leader(cluster: dict[str, Any]) -> dict[str, Any] | None:
    for member in cluster.get("members", []):
        if member.get("role") in ("leader", "standby_leader"):
            return member
    return None


def summarize_members(cluster: dict[str, Any], statuses: dict[str, dict | str]) -> list[dict[str, Any]]:
    """One row per member for inspect: role, state, timeline, lag in bytes, what /patroni said. Pure."""
    rows = []
    for member in cluster.get("members", []):
        name = member.get("name")
        status = statuses.get(name)
        lag = member.get("lag")
        rows.append(
            {
                "name": name,
                "role": member.get("role"),
                "state": member.get("state"),
                "host": member.get("host"),
                "port": member.get("port"),
                "apiUrl": member.get("api_url"),
                "timeline": member.get("timeline"),
                "lagBytes": lag if isinstance(lag, int) else None,
                "lagUnknown": lag == "unknown",
                "pendingRestart": bool(member.get("pending_restart")),
                "restApi": "unreachable" if isinstance(status, str) else "ok" if status else "not asked",
                "restError": status if isinstance(status, str) else None,
                "serverVersion": status.get("server_version") if isinstance(status, dict) else None,
                "syncStandby": bool(status.get("sync_standby")) if isinstance(status, dict) else False,
            }
        )
    return rows


def find_problems(
    cluster: dict[str, Any], config: dict[str, Any], members: list[dict[str, Any]], pg_error: str | None
) -> list[dict[str, str]]:
    """What inspect should mark: no leader, stopped members, lag beyond the failover limit, ... Pure."""
    found = []
    leader = find_leader(cluster)
    if leader is None:
        found.append(problem(CRITICAL, "no leader: the cluster has no writable primary"))
    elif leader.get("state") != "running":
        found.append(problem(CRITICAL, f"leader {leader.get('name')} is {leader.get('state')}"))
    leader_timeline = leader.get("timeline") if leader else None
    max_lag = config.get("maximum_lag_on_failover", PATRONI_DEFAULTS["maximum_lag_on_failover"])
    for member in members:
        if member["name"] == (leader or {}).get("name"):
            continue
        if member["state"] not in ("running", "streaming"):
            found.append(problem(CRITICAL, f"member {member['name']} is {member['state'] or 'unknown'}"))
        if member["lagUnknown"]:
            found.append(problem(WARNING, f"member {member['name']}: replication lag unknown"))
        elif member["lagBytes"] is not None and isinstance(max_lag, int) and member["lagBytes"] > max_lag:
            found.append(
                problem(
                    WARNING,
                    f"member {member['name']} lags {member['lagBytes']} bytes, more than "
                    f"maximum_lag_on_failover={max_lag}: it cannot be promoted",
                )
            )
        if leader_timeline is not None and member["timeline"] is not None and member["timeline"] != leader_timeline:
            message = f"member {member['name']} is on timeline {member['timeline']}, the leader on {leader_timeline}"
            found.append(problem(WARNING, message))
        if member["restApi"] == "unreachable":
            found.append(problem(WARNING, f"member {member['name']}: REST API unreachable ({member['restError']})"))
    if parse_bool(config.get("synchronous_mode")) and leader is not None and len(members) > 1:
        if not any(m["role"] == "sync_standby" for m in members):
            found.append(problem(CRITICAL, "synchronous_mode is on but no member is a synchronous standby"))
    if cluster.get("pause"):
        found.append(problem(WARNING, "cluster is paused: Patroni does not fail over"))
    if pg_error:
        found.append(problem(WARNING, f"PostgreSQL not read: {pg_error}"))
    return found


async def fetch_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    response.raise_for_status()
    return response.json()


async def read_cluster(client: httpx.AsyncClient, rest_urls: Sequence[str]) -> tuple[str, dict, dict, list[str]]:
    """(URL that answered, /cluster, /config, failures of the other URLs) from the first URL in
    order that answers both; all are asked at once so a dead member does not use up the time.
    Raises ConnectionError naming every URL when none answers."""
    failures = []
    answers = await asyncio.gather(
        *(asyncio.gather(fetch_json(client, f"{u}/cluster"), fetch_json(client, f"{u}/config")) for u in rest_urls),
        return_exceptions=True,
    )
    chosen = None
    for url, answer in zip(rest_urls, answers):
        if isinstance(answer, BaseException):
            failures.append(f"{url}: {describe_error(answer)}")
        elif chosen is None:
            chosen = (url, answer[0] or {}, answer[1] or {})
    if chosen is None:
        raise ConnectionError("; ".join(failures))
    return (*chosen, failures)


async def read_member_statuses(
    client: httpx.AsyncClient, cluster: dict[str, Any], deadline: Deadline
) -> dict[str, dict | str]:
    """Each member's /patroni (a dict) or why it could not be read (a str)."""
    members = [m for m in cluster.get("members", []) if m.get("api_url")]

    async def one(member):
        try:
            return await deadline.run(fetch_json(client, member["api_url"]))
        except Exception as err:  # noqa: BLE001
            return describe_error(err)

    answers = await asyncio.gather(*(one(m) for m in members))
    return {m["name"]: answer for m, answer in zip(members, answers)}


async def probe_patroni(
    rest_url: str | Sequence[str],
    pg_dsn_or_params: str | dict | None = None,
    timeout: float = 5.0,
    *,
    parameter_names: Iterable[str] | None = None,
) -> ProbeResult:
    """Patroni's view (members, roles, timelines, lag, DCS config) and the leader's pg_settings.

    `rest_url` is one Patroni REST URL or several (every member's :8008). `pg_dsn_or_params` supplies
    credentials and database; without a host it is pointed at the leader. Without it, only the
    REST API is read (no parameters). Never raises: an unreachable target gives `error`.
    """
    urls = [normalize_url(u) for u in ([rest_url] if isinstance(rest_url, str) else rest_url)]
    endpoint = ", ".join(urls)
    password = conninfo_params(pg_dsn_or_params).get("password") if pg_dsn_or_params else None
    deadline = Deadline(timeout)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            url, cluster, config, unreachable = await deadline.run(read_cluster(client, urls))
            statuses = await read_member_statuses(client, cluster, deadline)
    except Exception as err:  # noqa: BLE001 - a probe reports, it does not raise
        message = str(err) if isinstance(err, ConnectionError) else f"{endpoint}: {describe_error(err)}"
        return ProbeResult(COMPONENT, endpoint, error=f"Patroni REST API not reachable: {message}")

    leader = find_leader(cluster)
    reading: PostgresReading | None = None
    pg_error = None
    pg_endpoint = None
    if pg_dsn_or_params is not None:
        overrides = {}
        if not conninfo_params(pg_dsn_or_params).get("host") and leader is not None:
            overrides = {"host": leader.get("host"), "port": leader.get("port")}
        pg_endpoint = describe_conninfo(
            {**conninfo_params(pg_dsn_or_params), **{k: v for k, v in overrides.items() if v}}
        )
        try:
            reading = await read_postgres(pg_dsn_or_params, parameter_names, deadline.remaining(), **overrides)
        except Exception as err:  # noqa: BLE001
            pg_error = f"{pg_endpoint}: {redact_secrets(describe_error(err), [password])}"

    members = summarize_members(cluster, statuses)
    values: dict[str, Any] = {"postgres.replicas": len(members)}
    values.update(patroni_values(config))
    leader_status = statuses.get(leader["name"]) if leader else None
    if isinstance(leader_status, dict) and leader_status.get("server_version"):
        values["postgres.version"] = str(int(leader_status["server_version"]) // 10000)
    if reading is not None:
        values.update(postgres_values(reading))

    # Patroni's own name and version, from whichever member answered /patroni.
    patroni_info = next((s["patroni"] for s in statuses.values() if isinstance(s, dict) and "patroni" in s), {})
    details: dict[str, Any] = {
        "restUrl": url,
        "scope": patroni_info.get("scope"),
        "patroniVersion": patroni_info.get("version"),
        "leader": leader.get("name") if leader else None,
        "timeline": leader.get("timeline") if leader else None,
        "members": members,
        "paused": bool(cluster.get("pause")),
        "dcsConfig": {k: v for k, v in config.items() if k != "postgresql"},
        "dcsParameters": (config.get("postgresql") or {}).get("parameters", {}),
        "postgresEndpoint": pg_endpoint,
        "postgresError": pg_error,
        "unreachableRestUrls": unreachable,
        "problems": find_problems(cluster, config, members, pg_error)
        + [problem(WARNING, f"Patroni REST API {failure}") for failure in unreachable],
    }
    if reading is not None:
        details["postgresInRecovery"] = reading.in_recovery
        details["settings"] = reading.raw_settings
        details["replication"] = list(reading.replication)
        details["unknownParameters"] = list(reading.unknown_parameters)
        if reading.in_recovery:
            details["problems"].append(
                problem(WARNING, f"{reading.endpoint} is in recovery: parameters were read from a replica")
            )
    return ProbeResult(
        COMPONENT,
        url,
        values=values,
        details=details,
        pending_restart=reading.pending_restart if reading is not None else (),
    )
