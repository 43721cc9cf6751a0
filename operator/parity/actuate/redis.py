"""Apply `spec.redis.config` to every running Redis member, and the Sentinel options to every Sentinel.

Redis: `CONFIG SET` for each setting that differs, then `CONFIG REWRITE`, so the change
survives a restart of the process (the member runs from a writable copy of the rendered
redis.conf). A setting Redis refuses to change at runtime is reported as pending a restart; the
Redis pod template hashes those settings (render/redis.RESTART_ONLY_CONFIG_KEYS), so the
StatefulSet rolls the members onto them.
Sentinel: `SENTINEL SET <group> <option> <value>` for quorum, down-after-milliseconds,
failover-timeout and parallel-syncs, on each Sentinel whose `SENTINEL MASTER` differs
(Sentinel persists SENTINEL SET in its own config file).
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import redis.asyncio as aioredis

from parity.actuate.base import (
    REDIS_CONFIG,
    SENTINEL,
    SENTINEL_OPTIONS,
    ActuationResult,
    Change,
    Refused,
    with_retries,
)
from parity.drift.normalize import equivalent_at
from parity.probes.redis import SENTINEL_PORT, client_for, pairs_to_dict
from parity.probes.support import describe_error, redact_secrets

REDIS_PORT = 6379


def plan_config_set(current: dict[str, Any], wanted: dict[str, Any]) -> tuple[list[Change], list[str]]:
    """(CONFIG SET changes for one member, paths already as wanted). Pure. `current` is the
    member's CONFIG GET answer; a path that left the spec (None) is not touched: Redis has no
    "unset", and the member drops it when it restarts from the rendered file."""
    changes, already = [], []
    for path, value in sorted(wanted.items()):
        if not path.startswith(REDIS_CONFIG) or value is None:
            continue
        key = path[len(REDIS_CONFIG):]
        have = current.get(key)
        if have is not None and equivalent_at(path, have, value):
            already.append(path)
        else:
            changes.append(Change(path, "", have, value))
    return changes, already


def plan_sentinel_set(master: dict[str, Any], wanted: dict[str, Any]) -> tuple[list[Change], list[str]]:
    """(SENTINEL SET changes for one Sentinel, paths already as wanted). Pure. `master` is the
    Sentinel's SENTINEL MASTER answer for the group."""
    changes, already = [], []
    for path, value in sorted(wanted.items()):
        if not path.startswith(SENTINEL) or value is None:
            continue
        option = SENTINEL_OPTIONS.get(path[len(SENTINEL):])
        if option is None:
            continue
        have = master.get(option)
        if have is not None and str(have) == str(value):
            already.append(path)
        else:
            changes.append(Change(path, "", have, value))
    return changes, already


async def actuate_redis(members: Sequence[str], wanted: dict[str, Any], *, password: str | None = None,
                        timeout: float = 5.0) -> ActuationResult:
    """CONFIG SET + CONFIG REWRITE on every member. Never raises; never echoes a password."""
    result = ActuationResult("redis")
    keys = [p[len(REDIS_CONFIG):] for p, v in wanted.items() if p.startswith(REDIS_CONFIG) and v is not None]
    if not keys:
        return result
    outcomes = await asyncio.gather(*(_one_member(m, keys, wanted, password, timeout) for m in members))
    applied_everywhere = None
    for address, (changes, already, pending, error) in zip(members, outcomes):
        if error:
            result.errors.append(f"Redis {address}: {redact_secrets(error, [password])}")
            applied_everywhere = set()
            continue
        result.changes += changes
        result.pending += pending
        done = {c.path for c in changes} | set(already)
        applied_everywhere = done if applied_everywhere is None else applied_everywhere & done
    result.applied = sorted(applied_everywhere or ())
    return result


async def _one_member(address: str, keys: list[str], wanted: dict[str, Any], password: str | None,
                      timeout: float) -> tuple[list[Change], list[str], list[str], str | None]:
    client = client_for(address, REDIS_PORT, password, timeout)
    try:
        current = pairs_to_dict(await with_retries(lambda: client.execute_command("CONFIG", "GET", *keys)))
        planned, already = plan_config_set(current, wanted)
        changes, pending = [], []
        for change in planned:
            key = change.path[len(REDIS_CONFIG):]
            try:
                await client.execute_command("CONFIG", "SET", key, str(change.after))
            except aioredis.ResponseError as err:
                # Immutable at runtime (or refused): takes effect when the member restarts.
                pending.append(f"Redis {address}: {key} needs a restart ({_first_line(err)})")
                continue
            changes.append(Change(change.path, address, change.before, change.after))
        if changes:
            await client.execute_command("CONFIG", "REWRITE")
        return changes, already, pending, None
    except Exception as err:  # noqa: BLE001
        return [], [], [], describe_error(err)
    finally:
        await client.aclose()


async def actuate_sentinels(sentinels: Sequence[str], group: str, wanted: dict[str, Any], *,
                            password: str | None = None, timeout: float = 5.0) -> ActuationResult:
    """SENTINEL SET on every Sentinel whose view of the group differs. Never raises."""
    result = ActuationResult("sentinel")
    if not any(p.startswith(SENTINEL) and v is not None for p, v in wanted.items()):
        return result
    outcomes = await asyncio.gather(*(_one_sentinel(s, group, wanted, password, timeout) for s in sentinels))
    applied_everywhere = None
    for address, (changes, already, error) in zip(sentinels, outcomes):
        if error:
            result.errors.append(f"Sentinel {address}: {redact_secrets(error, [password])}")
            applied_everywhere = set()
            continue
        result.changes += changes
        done = {c.path for c in changes} | set(already)
        applied_everywhere = done if applied_everywhere is None else applied_everywhere & done
    result.applied = sorted(applied_everywhere or ())
    return result


async def _one_sentinel(address: str, group: str, wanted: dict[str, Any], password: str | None,
                        timeout: float) -> tuple[list[Change], list[str], str | None]:
    client = client_for(address, SENTINEL_PORT, password, timeout)
    try:
        master = pairs_to_dict(await with_retries(lambda: client.execute_command("SENTINEL", "MASTER", group)))
        planned, already = plan_sentinel_set(master, wanted)
        changes = []
        for change in planned:
            option = SENTINEL_OPTIONS[change.path[len(SENTINEL):]]
            try:
                await client.execute_command("SENTINEL", "SET", group, option, str(change.after))
            except aioredis.ResponseError as err:
                raise Refused(f"SENTINEL SET {group} {option}: {_first_line(err)}") from None
            changes.append(Change(change.path, address, change.before, change.after))
        return changes, already, None
    except Exception as err:  # noqa: BLE001
        return [], [], describe_error(err)
    finally:
        await client.aclose()


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
