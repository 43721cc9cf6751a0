"""Read Redis nodes (INFO, ROLE, CONFIG GET) and Sentinels (who they think the primary is).

The nodes are the truth about replication (role, offsets); the Sentinels are the truth about
who clients will be sent to. When they disagree, or Sentinels disagree among themselves, clients
may write to a node that is about to be demoted: inspect marks it and the values carry
`redis.sentinel.primaryAgreement = False`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from parity.probes.base import ProbeResult
from parity.probes.support import (
    CRITICAL,
    WARNING,
    Deadline,
    describe_error,
    format_address,
    problem,
    redact_secrets,
    split_host_port,
)
from parity.probes.units import normalize_redis_value

COMPONENT = "redis"
REDIS_PORT = 6379
SENTINEL_PORT = 26379
# Read when neither the spec nor the baseline names config keys.
DEFAULT_CONFIG_KEYS = ("maxmemory", "maxmemory-policy", "appendonly", "save", "timeout", "min-replicas-to-write")
# SENTINEL MASTER field → spec path under redis.sentinel.
SENTINEL_SPEC_KEYS = {
    "quorum": "quorum",
    "down-after-milliseconds": "downAfterMilliseconds",
    "failover-timeout": "failoverTimeout",
    "parallel-syncs": "parallelSyncs",
}


@dataclass
class NodeReading:
    address: str
    error: str | None = None
    role: str | None = None
    version: str | None = None
    process_id: int | None = None
    replication: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class SentinelReading:
    address: str
    error: str | None = None
    primary: str | None = None
    master: dict[str, str] = field(default_factory=dict)
    replicas: list[dict[str, str]] = field(default_factory=list)


def pairs_to_dict(items: Sequence | dict) -> dict[str, Any]:
    """Redis' flat [key, value, key, value] replies as a dict (redis-py parses some of them itself,
    depending on its version and the protocol: a dict passes through)."""
    if isinstance(items, dict):
        return {str(k): v for k, v in items.items()}
    return {str(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def client_for(address: str, default_port: int, password: str | None, timeout: float) -> aioredis.Redis:
    host, port = split_host_port(address, default_port)
    # No retries: a probe must answer within its timeout, and a refused connection is an answer.
    return aioredis.Redis(
        host=host,
        port=port,
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
    )


async def read_node(address: str, password: str | None, config_keys: Sequence[str], deadline: Deadline) -> NodeReading:
    try:
        return await deadline.run(_read_node(address, password, config_keys, deadline.remaining()))
    except Exception as err:  # noqa: BLE001 - a timeout or a bad address: reported, not raised
        return NodeReading(address, error=redact_secrets(describe_error(err), [password]))


async def _read_node(address: str, password: str | None, config_keys: Sequence[str], timeout: float) -> NodeReading:
    client = client_for(address, REDIS_PORT, password, timeout)
    try:
        server = await client.info("server")
        replication = await client.info("replication")
        config: dict[str, Any] = {}
        config_error = None
        if config_keys:
            try:
                config = pairs_to_dict(await client.execute_command("CONFIG", "GET", *config_keys))
            except aioredis.ResponseError as err:  # CONFIG may be renamed away in hardened setups
                config_error = str(err)
        reading = NodeReading(
            address=address,
            role="master" if replication.get("role") == "master" else "replica",
            version=str(server.get("redis_version")),
            process_id=server.get("process_id"),
            replication=replication,
            config={k: normalize_redis_value(str(v)) for k, v in config.items()},
        )
        if config_error:
            reading.replication["configError"] = config_error
        return reading
    except Exception as err:  # noqa: BLE001
        return NodeReading(address, error=redact_secrets(describe_error(err), [password]))
    finally:
        await client.aclose()


async def read_sentinel(address: str, group: str, password: str | None, deadline: Deadline) -> SentinelReading:
    try:
        return await deadline.run(_read_sentinel(address, group, password, deadline.remaining()))
    except Exception as err:  # noqa: BLE001
        return SentinelReading(address, error=redact_secrets(describe_error(err), [password]))


async def _read_sentinel(address: str, group: str, password: str | None, timeout: float) -> SentinelReading:
    client = client_for(address, SENTINEL_PORT, password, timeout)
    try:
        addr = await client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", group)
        master = pairs_to_dict(await client.execute_command("SENTINEL", "MASTER", group))
        replicas = [pairs_to_dict(r) for r in await client.execute_command("SENTINEL", "REPLICAS", group)]
        primary = format_address(addr[0], int(addr[1])) if addr else None
        master = {k: str(v) for k, v in master.items()}
        return SentinelReading(address, primary=primary, master=master, replicas=replicas)
    except Exception as err:  # noqa: BLE001
        return SentinelReading(address, error=redact_secrets(describe_error(err), [password]))
    finally:
        await client.aclose()


def replica_lines(replication: dict[str, Any]) -> list[dict[str, Any]]:
    """The primary's `slaveN` entries (redis-py parses them into dicts) as a list."""
    found = []
    for key, value in replication.items():
        if key.startswith("slave") and key[5:].isdigit() and isinstance(value, dict):
            found.append(value)
    return found


def sentinel_views(sentinels: Iterable[SentinelReading]) -> dict[str, list[str]]:
    """primary address → sentinels naming it. Pure."""
    views: dict[str, list[str]] = {}
    for sentinel in sentinels:
        if sentinel.error is None and sentinel.primary:
            views.setdefault(sentinel.primary, []).append(sentinel.address)
    return views


def summarize_redis(
    nodes: list[NodeReading], sentinels: list[SentinelReading], config_keys: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values and details from the readings. Pure."""
    reachable = [n for n in nodes if n.error is None]
    primaries = [n for n in reachable if n.role == "master"]
    views = sentinel_views(sentinels)
    found: list[dict[str, str]] = []

    # Who is primary: the node the Sentinel majority names if it says so itself, else the only master.
    majority = max(views, key=lambda a: len(views[a])) if views else None
    by_address = {n.address: n for n in reachable}
    primary = by_address.get(majority) if majority in by_address and by_address[majority].role == "master" else None
    if primary is None and len(primaries) == 1:
        primary = primaries[0]

    values: dict[str, Any] = {}
    agreement = True
    if len(views) > 1:
        agreement = False
        opinions = "; ".join(f"{a} per {', '.join(s)}" for a, s in sorted(views.items()))
        found.append(problem(CRITICAL, f"Sentinels disagree about the primary: {opinions}"))
    if majority and majority in by_address and by_address[majority].role != "master":
        agreement = False
        role = by_address[majority].role
        found.append(problem(CRITICAL, f"Sentinels name {majority} as primary but it reports role {role}"))
    if len(primaries) > 1:
        addresses = ", ".join(n.address for n in primaries)
        found.append(problem(CRITICAL, f"more than one node reports role master: {addresses}"))
    if not primaries and reachable:
        found.append(problem(CRITICAL, "no reachable node reports role master"))
    if not agreement:
        values["redis.sentinel.primaryAgreement"] = False

    source = primary or (reachable[0] if reachable else None)
    primary_offset = int(primary.replication.get("master_repl_offset", 0)) if primary else None
    replica_info = {}
    if primary is not None:
        for line in replica_lines(primary.replication):
            replica_info[format_address(str(line.get("ip")), int(line.get("port", 0)))] = line
        values["redis.replicas"] = 1 + int(primary.replication.get("connected_slaves", 0))
    elif reachable:
        values["redis.replicas"] = len(reachable)
    if source is not None:
        # The full version: the drift engine matches versions on their leading components, so a
        # spec `7.2` matches `7.2.4`.
        values["redis.version"] = source.version
        for key in config_keys:
            if key in source.config:
                values[f"redis.config.{key}"] = source.config[key]

    rows = []
    for node in nodes:
        row: dict[str, Any] = {"address": node.address, "role": node.role, "version": node.version, "error": node.error}
        if node.error:
            found.append(problem(WARNING if primary else CRITICAL, f"{node.address} unreachable: {node.error}"))
        elif node.role == "master":
            row["offset"] = int(node.replication.get("master_repl_offset", 0))
            row["connectedReplicas"] = int(node.replication.get("connected_slaves", 0))
        else:
            offset = int(node.replication.get("slave_repl_offset", 0))
            row.update(
                {
                    "primary": format_address(
                        str(node.replication.get("master_host")), int(node.replication.get("master_port", 0))
                    ),
                    "linkStatus": node.replication.get("master_link_status"),
                    "offset": offset,
                    "lagBytes": max(0, primary_offset - offset) if primary_offset is not None else None,
                }
            )
            seen = replica_info.get(node.address, {})
            row["lagSeconds"] = int(seen["lag"]) if "lag" in seen else None
            row["state"] = seen.get("state")
            if row["linkStatus"] != "up":
                found.append(problem(CRITICAL, f"replica {node.address}: link to its primary is {row['linkStatus']}"))
            if primary is not None and row["primary"] != primary.address:
                message = f"replica {node.address} follows {row['primary']}, not the primary {primary.address}"
                found.append(problem(WARNING, message))
        if source is not None and node.error is None and node is not source:
            differing = sorted(k for k in config_keys if k in node.config and node.config[k] != source.config.get(k))
            if differing:
                row["configDiffers"] = differing
                found.append(
                    problem(WARNING, f"{node.address} config differs from {source.address}: {', '.join(differing)}")
                )
        rows.append(row)

    sentinel_rows = []
    answering = [s for s in sentinels if s.error is None]
    for sentinel in sentinels:
        row = {"address": sentinel.address, "primary": sentinel.primary, "error": sentinel.error}
        if sentinel.error:
            found.append(problem(WARNING, f"Sentinel {sentinel.address} unreachable: {sentinel.error}"))
        else:
            master = sentinel.master
            row.update(
                {
                    "quorum": int(master.get("quorum", 0)),
                    "otherSentinels": int(master.get("num-other-sentinels", 0)),
                    "replicas": int(master.get("num-slaves", 0)),
                    "flags": master.get("flags"),
                }
            )
            flags = str(master.get("flags", ""))
            if "o_down" in flags or "s_down" in flags:
                found.append(problem(CRITICAL, f"Sentinel {sentinel.address} sees the primary as down ({flags})"))
            if row["otherSentinels"] + 1 < row["quorum"]:
                known = row["otherSentinels"] + 1
                found.append(
                    problem(
                        CRITICAL,
                        f"Sentinel {sentinel.address} knows {known} Sentinels, fewer than the quorum {row['quorum']}",
                    )
                )
        sentinel_rows.append(row)
    if answering:
        master = answering[0].master
        for field_name, spec_key in SENTINEL_SPEC_KEYS.items():
            if field_name in master:
                values[f"redis.sentinel.{spec_key}"] = int(master[field_name])
        values["redis.sentinel.replicas"] = 1 + int(master.get("num-other-sentinels", 0))
        quorums = Counter(int(s.master.get("quorum", 0)) for s in answering)
        if len(quorums) > 1:
            found.append(problem(WARNING, f"Sentinels are configured with different quorums: {dict(quorums)}"))

    details = {
        "primary": primary.address if primary else None,
        "sentinelPrimary": majority,
        "nodes": rows,
        "sentinels": sentinel_rows,
        "disagreement": {a: s for a, s in views.items()} if not agreement else {},
        "problems": found,
        # Where `values` were read: redis.config.* on this node, redis.sentinel.* on this Sentinel.
        "configSource": source.address if source is not None else None,
        "sentinelSource": answering[0].address if answering else None,
    }
    return values, details


async def probe_redis(
    endpoints: Sequence[str],
    sentinel_endpoints: Sequence[str] = (),
    master_group_name: str = "mymaster",
    password: str | None = None,
    timeout: float = 5.0,
    *,
    config_keys: Iterable[str] | None = None,
    sentinel_password: str | None = None,
) -> ProbeResult:
    """Nodes and Sentinels together. Nodes the Sentinels know about are read too, so pointing the
    probe at the Sentinels alone finds the whole group. Never raises."""
    keys = tuple(DEFAULT_CONFIG_KEYS if config_keys is None else config_keys)
    endpoint = ", ".join([*endpoints, *sentinel_endpoints]) or "(no endpoints)"
    if not endpoints and not sentinel_endpoints:
        return ProbeResult(COMPONENT, endpoint, error="no Redis or Sentinel endpoints given")

    deadline = Deadline(timeout)
    try:
        addresses = [format_address(*split_host_port(a, REDIS_PORT)) for a in endpoints]
        sentinel_addresses = [format_address(*split_host_port(a, SENTINEL_PORT)) for a in sentinel_endpoints]
    except ValueError as err:
        return ProbeResult(COMPONENT, endpoint, error=str(err))
    # Sentinels and the given nodes at once; then the nodes only the Sentinels knew of.
    sentinels_and_nodes = await asyncio.gather(
        asyncio.gather(*(read_sentinel(a, master_group_name, sentinel_password, deadline) for a in sentinel_addresses)),
        asyncio.gather(*(read_node(a, password, keys, deadline) for a in addresses)),
    )
    sentinels, nodes = list(sentinels_and_nodes[0]), list(sentinels_and_nodes[1])
    discovered: list[str] = []
    for sentinel in sentinels:
        known = [sentinel.primary] + [
            format_address(r.get("ip", ""), int(r.get("port", 0))) for r in sentinel.replicas if r.get("ip")
        ]
        discovered += [a for a in known if a and a not in addresses and a not in discovered]
    nodes += await asyncio.gather(*(read_node(a, password, keys, deadline) for a in discovered))
    if not any(n.error is None for n in nodes) and not any(s.error is None for s in sentinels):
        reasons = [f"{n.address}: {n.error}" for n in nodes] + [f"Sentinel {s.address}: {s.error}" for s in sentinels]
        return ProbeResult(COMPONENT, endpoint, error="no Redis node or Sentinel reachable: " + "; ".join(reasons))
    values, details = summarize_redis(nodes, sentinels, keys)
    return ProbeResult(COMPONENT, details["primary"] or endpoint, values=values, details=details)
