"""Apply PostgreSQL parameters and Patroni's dynamic settings to a running Patroni cluster.

Patroni reads `bootstrap.dcs` once, when the cluster is created; afterwards the DCS copy is
authoritative and changes go through `PATCH /config` (a JSON merge patch; `null` removes a
key). Patroni then reloads PostgreSQL on every member within one loop_wait. A parameter that
needs a restart shows up as `pending_restart` on the members; this module reports those, it
does not restart anything itself (actuate/rolling.py does, in order).

`ALTER SYSTEM` writes postgresql.auto.conf on one member, which overrides whatever Patroni
writes: putting a parameter back therefore also means `ALTER SYSTEM RESET` on each member that
has an override for it, followed by pg_reload_conf().
"""

from __future__ import annotations

from typing import Any, Sequence

import httpx
import psycopg
from psycopg import sql

from parity.actuate.base import (
    PATRONI,
    PATRONI_KEYS,
    POSTGRES_PARAMETERS,
    ActuationResult,
    Change,
    Refused,
    with_retries,
)
from parity.drift.normalize import equivalent_at
from parity.probes.patroni import PATRONI_DEFAULTS, read_cluster
from parity.probes.support import build_conninfo, describe_error, normalize_url, redact_secrets

COMPONENT = "postgres"
DCS = "Patroni DCS"
OVERRIDES_QUERY = (
    "SELECT name, setting FROM pg_file_settings "
    "WHERE sourcefile LIKE '%%postgresql.auto.conf' AND lower(name) = ANY(%s)"
)


def plan_config_patch(config: dict[str, Any], wanted: dict[str, Any]) -> tuple[dict[str, Any], list[Change], list[str]]:
    """(JSON merge patch for PATCH /config, the changes it makes, paths already as wanted). Pure.

    `config` is Patroni's current dynamic configuration (GET /config); `wanted` maps
    `postgres.parameters.*` and `postgres.patroni.*` paths to desired values, None for a
    parameter that left the spec (removed from the DCS). Values are compared by meaning
    (`4MB` equals `4096kB`), so an equal value is never re-sent."""
    patch: dict[str, Any] = {}
    changes: list[Change] = []
    already: list[str] = []
    parameters = (config.get("postgresql") or {}).get("parameters") or {}
    by_lower = {str(k).lower(): k for k in parameters}
    for path, value in sorted(wanted.items()):
        if path.startswith(POSTGRES_PARAMETERS):
            name = path[len(POSTGRES_PARAMETERS):]
            current_name = by_lower.get(name.lower(), name)
            current = parameters.get(current_name)
            if value is None:
                if current is None:
                    already.append(path)
                    continue
                patch.setdefault("postgresql", {}).setdefault("parameters", {})[current_name] = None
            elif current is not None and equivalent_at(path, current, value):
                already.append(path)
                continue
            else:
                if current_name != name:  # another spelling in the DCS: replace it, not add beside it
                    patch.setdefault("postgresql", {}).setdefault("parameters", {})[current_name] = None
                patch.setdefault("postgresql", {}).setdefault("parameters", {})[name] = value
            changes.append(Change(path, DCS, current, value))
        elif path.startswith(PATRONI):
            key = PATRONI_KEYS.get(path[len(PATRONI):])
            if key is None or value is None:
                continue
            current = config.get(key, PATRONI_DEFAULTS[key])
            if isinstance(value, bool) and str(current).lower() in ("true", "false", "on", "off"):
                same = str(current).lower() in ("true", "on") if value else str(current).lower() in ("false", "off")
            else:
                same = str(current) == str(value)
            if same and key in config:
                already.append(path)
                continue
            if same:
                # In effect as Patroni's default; written anyway so the DCS says what the spec says.
                patch[key] = value
                already.append(path)
                continue
            patch[key] = value
            changes.append(Change(path, DCS, current, value))
    return patch, changes, already


def pending_restarts(cluster: dict[str, Any]) -> list[str]:
    """Members that accepted a setting they apply only after a restart. Pure."""
    return sorted(str(m.get("name")) for m in cluster.get("members", []) if m.get("pending_restart"))


async def actuate_patroni(rest_urls: Sequence[str], wanted: dict[str, Any], *, conninfo: str | None,
                          password: str | None = None, rest_auth: tuple[str, str] | None = None,
                          timeout: float = 10.0) -> ActuationResult:
    """Push `wanted` (path → value) into the running cluster. Never raises; never echoes a password."""
    result = ActuationResult(COMPONENT)
    if not wanted:
        return result
    urls = [normalize_url(u) for u in rest_urls]
    try:
        async with httpx.AsyncClient(timeout=timeout, auth=rest_auth) as client:
            url, cluster, config, _ = await with_retries(lambda: read_cluster(client, urls))
            patch, changes, already = plan_config_patch(config, wanted)
            if patch:
                await with_retries(lambda: _patch_config(client, url, patch))
            result.changes += changes
            result.applied += [c.path for c in changes] + already
    except Exception as err:  # noqa: BLE001 - reported in status, retried on the next pass
        result.errors.append(f"Patroni {', '.join(urls)}: {redact_secrets(describe_error(err), [password])}")
        return result

    names = [p[len(POSTGRES_PARAMETERS):] for p, v in wanted.items() if p.startswith(POSTGRES_PARAMETERS)]
    if names and conninfo:
        for member in cluster.get("members", []):
            if not member.get("host"):
                continue
            target = str(member.get("name"))
            try:
                reset = await with_retries(lambda: _reset_overrides(conninfo, member, names, timeout))
            except Exception as err:  # noqa: BLE001
                result.errors.append(f"PostgreSQL on {target}: {redact_secrets(describe_error(err), [password])}")
                continue
            result.changes += [Change(POSTGRES_PARAMETERS + name, target, f"{value} (ALTER SYSTEM)",
                                      wanted.get(POSTGRES_PARAMETERS + name, "Patroni's value"))
                               for name, value in reset]
    members = pending_restarts(cluster)
    if members:
        result.pending.append(f"PostgreSQL members {', '.join(members)} need a restart (pending_restart)")
    return result


async def _patch_config(client: httpx.AsyncClient, url: str, patch: dict[str, Any]) -> None:
    response = await client.patch(f"{url}/config", json=patch)
    if 400 <= response.status_code < 500:
        raise Refused(f"PATCH {url}/config answered {response.status_code}: {response.text[:200]}")
    response.raise_for_status()


async def _reset_overrides(conninfo: str, member: dict[str, Any], names: list[str],
                           timeout: float) -> list[tuple[str, str]]:
    """ALTER SYSTEM RESET every wanted parameter that postgresql.auto.conf overrides on this
    member, then reload. Returns (name, overriding value) for each reset."""
    target = build_conninfo(conninfo, host=member["host"], port=member.get("port") or 5432,
                            connect_timeout=max(2, int(timeout)))
    async with await psycopg.AsyncConnection.connect(target, autocommit=True) as conn:
        cur = await conn.execute(OVERRIDES_QUERY, ([n.lower() for n in names],))
        overrides = [(str(name), str(value)) for name, value in await cur.fetchall()]
        for name, _ in overrides:
            await conn.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
        if overrides:
            await conn.execute("SELECT pg_reload_conf()")
    return overrides
