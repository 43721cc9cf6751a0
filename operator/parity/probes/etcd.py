"""Read an etcd cluster over HTTP: /version, /health and the v3 gRPC gateway (JSON over POST).

The gateway answers `/v3/cluster/member/list` for the whole cluster, but
`/v3/maintenance/status` (leader, DB size, raft term) only for the member asked, so every
member's own client URL is asked too. In a cluster the operator reaches those through the
headless Service; on a laptop they are the URLs given.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import httpx

from parity.probes.base import ProbeResult
from parity.probes.support import CRITICAL, WARNING, Deadline, describe_error, normalize_url, problem

COMPONENT = "etcd"


async def _get(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    response.raise_for_status()
    return response.json()


async def _post(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.post(url, json={})
    response.raise_for_status()
    return response.json()


async def read_endpoint(client: httpx.AsyncClient, url: str, deadline: Deadline) -> dict[str, Any]:
    """version, status and health of the member behind one client URL; `error` when unreadable."""

    async def read():
        version, status, health = await asyncio.gather(
            _get(client, f"{url}/version"),
            _post(client, f"{url}/v3/maintenance/status"),
            _get(client, f"{url}/health"),
            return_exceptions=True,
        )
        return {"url": url, "version": version, "status": status, "health": health}

    try:
        answer = await deadline.run(read())
    except Exception as err:  # noqa: BLE001
        return {"url": url, "error": describe_error(err)}
    failures = [a for a in (answer["version"], answer["status"]) if isinstance(a, BaseException)]
    if failures:
        return {"url": url, "error": describe_error(failures[0])}
    return answer


async def read_members(client: httpx.AsyncClient, urls: Sequence[str], deadline: Deadline) -> tuple[str, list[dict]]:
    """(URL that answered, members) from the first URL in order that answers; all are asked at once
    so one dead endpoint does not use up the time budget."""
    answers = await asyncio.gather(
        *(deadline.run(_post(client, f"{url}/v3/cluster/member/list")) for url in urls), return_exceptions=True
    )
    failures = []
    for url, answer in zip(urls, answers):
        if isinstance(answer, BaseException):
            failures.append(f"{url}: {describe_error(answer)}")
        else:
            return url, answer.get("members", [])
    raise ConnectionError("; ".join(failures))


def summarize_etcd(members: list[dict], readings: list[dict]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values and details from the member list and each member's own answers. Pure."""
    found = []
    by_id: dict[str, dict] = {}
    for reading in readings:
        status = reading.get("status")
        if isinstance(status, dict):
            by_id[str(status.get("header", {}).get("member_id"))] = reading
    leaders = {str(r["status"].get("leader")) for r in by_id.values() if r["status"].get("leader") not in (None, "0")}
    rows = []
    versions = set()
    for member in members:
        member_id = str(member.get("ID"))
        reading = by_id.get(member_id)
        client_urls = member.get("clientURLs") or []
        row: dict[str, Any] = {
            "name": member.get("name") or "(unstarted)",
            "id": member_id,
            "clientUrls": client_urls,
            "peerUrls": member.get("peerURLs") or [],
            "learner": bool(member.get("isLearner")),
            "isLeader": member_id in leaders,
        }
        if reading is None:
            urls = [u.rstrip("/") for u in client_urls]
            unreadable = next((r for r in readings if r.get("url") in urls and r.get("error")), None)
            row["error"] = unreadable["error"] if unreadable else "not reachable"
            found.append(problem(WARNING, f"member {row['name']}: {row['error']}"))
        else:
            status = reading["status"]
            health = reading.get("health")
            row.update(
                {
                    "version": status.get("version"),
                    "dbSize": int(status.get("dbSize", 0)),
                    "dbSizeInUse": int(status.get("dbSizeInUse", 0)),
                    "raftTerm": int(status.get("raftTerm", 0)),
                    "raftIndex": int(status.get("raftIndex", 0)),
                    "healthy": isinstance(health, dict) and str(health.get("health")) == "true",
                    "errors": status.get("errors") or [],
                }
            )
            versions.add(status.get("version"))
            if not row["healthy"]:
                if isinstance(health, dict):
                    reason = health.get("reason")
                else:
                    reason = describe_error(health) if isinstance(health, BaseException) else ""
                found.append(problem(CRITICAL, f"member {row['name']} is unhealthy{': ' + reason if reason else ''}"))
            for error in row["errors"]:
                found.append(problem(WARNING, f"member {row['name']}: {error}"))
        rows.append(row)
    if not leaders:
        found.append(problem(CRITICAL, "no leader: etcd cannot accept writes"))
    elif len(leaders) > 1:
        found.append(problem(CRITICAL, f"members disagree about the leader: {sorted(leaders)}"))
    if len(versions - {None}) > 1:
        found.append(problem(WARNING, f"members run different versions: {sorted(v for v in versions if v)}"))
    voting = [m for m in members if not m.get("isLearner")]
    healthy_voting = [r for r in rows if not r["learner"] and r.get("healthy")]
    if voting and len(healthy_voting) <= len(voting) // 2:
        found.append(
            problem(CRITICAL, f"only {len(healthy_voting)} of {len(voting)} voting members healthy: no quorum")
        )

    server_versions = [r["version"] for r in readings if isinstance(r.get("version"), dict)]
    values: dict[str, Any] = {"etcd.replicas": len(members)}
    if server_versions:
        values["etcd.version"] = server_versions[0].get("etcdserver")
    leader_row = next((r for r in rows if r["isLeader"]), None)
    details = {
        "clusterVersion": server_versions[0].get("etcdcluster") if server_versions else None,
        "leader": leader_row["name"] if leader_row else None,
        "members": rows,
        "problems": found,
    }
    return values, details


async def probe_etcd(endpoints: Sequence[str], timeout: float = 5.0) -> ProbeResult:
    """Members, leader, versions, DB sizes, health. Never raises."""
    urls = [normalize_url(u) for u in endpoints]
    endpoint = ", ".join(urls) or "(no endpoints)"
    if not urls:
        return ProbeResult(COMPONENT, endpoint, error="no etcd endpoints given")
    deadline = Deadline(timeout)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answered, members = await read_members(client, urls, deadline)
            member_urls = [u.rstrip("/") for m in members for u in (m.get("clientURLs") or [])[:1]]
            to_read = list(dict.fromkeys([*urls, *member_urls]))
            readings = list(await asyncio.gather(*(read_endpoint(client, u, deadline) for u in to_read)))
    except Exception as err:  # noqa: BLE001
        message = str(err) if isinstance(err, ConnectionError) else f"{endpoint}: {describe_error(err)}"
        return ProbeResult(COMPONENT, endpoint, error=f"etcd not reachable: {message}")
    values, details = summarize_etcd(members, readings)
    details["answeredBy"] = answered
    return ProbeResult(COMPONENT, answered, values=values, details=details)
