"""Push an environment's runtime settings into its running services (the timer's job, before it
probes): spec changes always, hand-made changes too under `policy: enforce`.

    spec + status.actuation.applied → settings_to_apply → actuate/* (concurrently) → summarize
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping

import httpx

from parity.actuate.approval import APPROVAL_ANNOTATION, approved_settings, parse_approvals, pending_corrections
from parity.actuate.base import ActuationResult, desired_settings, settings_to_apply
from parity.actuate.outcome import ActuationOutcome, summarize
from parity.actuate.patroni import actuate_patroni
from parity.actuate.redis import actuate_redis, actuate_sentinels
from parity.actuate.rolling import describe_plan, roll_pending_restarts
from parity.api import SpecError
from parity.drift.runtime import evaluate_runtime
from parity.probes.base import ProbeResult
from parity.probes.collect import environment_targets
from parity.probes.endpoints import EndpointError, postgres_conninfo
from parity.probes.patroni import read_cluster

log = logging.getLogger(__name__)
# Only an environment whose members are all up is actuated: while it is being built, Patroni
# and Redis are not there to answer, and bootstrap already applies the spec.
ACTUATED_PHASES = ("Ready", "Degraded")


def actuate_environment(kube, body: dict, *, now: str, runtime: list[ProbeResult] | None = None,
                        endpoint_map: Mapping[str, Mapping[str, Any]] | None = None,
                        timeout: float = 10.0) -> ActuationOutcome | None:
    """Blocking; never raises for a service that does not answer (that is in the record).
    None when nothing was attempted (environment not up yet, or its spec unreadable).
    `runtime` is the last probe results: under `approve` they say which corrections are pending."""
    status = body.get("status") or {}
    if status.get("phase") not in ACTUATED_PHASES:
        return None
    try:
        spec, endpoints, credentials, _ = environment_targets(kube, body, endpoint_map)
    except (SpecError, EndpointError) as err:
        log.warning("not actuating %s: %s", body.get("metadata", {}).get("name"), err)
        return None
    previous = status.get("actuation") or None
    desired = desired_settings(spec)
    policy = spec.drift.policy
    wanted = settings_to_apply(desired, (previous or {}).get("applied") if previous else None,
                               enforce=policy == "enforce")
    pending: list[dict[str, str]] = []
    approved: dict[str, Any] = {}
    approval_error = None
    if policy == "approve":
        group = spec.redis.sentinel.master_group_name
        pending = pending_corrections(evaluate_runtime(runtime or [], spec), desired, group)
        annotations = (body.get("metadata") or {}).get("annotations") or {}
        try:
            approved = approved_settings(pending, parse_approvals(annotations.get(APPROVAL_ANNOTATION)), desired)
        except ValueError as err:
            approval_error = str(err)
        wanted.update(approved)
    if wanted:
        results = asyncio.run(_actuate(spec, endpoints, credentials, wanted, timeout))
        outcome = summarize(previous, desired, wanted, results, now)
    else:
        outcome = ActuationOutcome(record={k: v for k, v in (previous or {"applied": {}}).items()
                                           if k != "pendingCorrections"})
    # Applied approvals leave the list; the next probe shows whether they took.
    done = set(approved) if wanted and not outcome.record.get("errors") else set()
    left = [c for c in pending if c["path"] not in done]
    if left:
        outcome.record["pendingCorrections"] = left
    if approval_error:
        outcome.record["errors"] = sorted({*outcome.record.get("errors", []), approval_error})
    return outcome


async def _actuate(spec, endpoints, credentials, wanted: dict[str, Any], timeout: float) -> list[ActuationResult]:
    postgres = {p: v for p, v in wanted.items() if p.startswith("postgres.")}
    redis = {p: v for p, v in wanted.items() if p.startswith("redis.config.")}
    sentinel = {p: v for p, v in wanted.items() if p.startswith("redis.sentinel.")}
    tasks = []
    if postgres and endpoints.patroni:
        tasks.append(actuate_patroni(endpoints.patroni, postgres, conninfo=postgres_conninfo(endpoints, credentials),
                                     password=credentials.postgres_password, rest_auth=credentials.patroni_auth(),
                                     timeout=timeout))
    if redis and endpoints.redis:
        tasks.append(actuate_redis(endpoints.redis, redis, password=credentials.redis_password, timeout=timeout))
    if sentinel and endpoints.sentinel:
        tasks.append(actuate_sentinels(endpoints.sentinel, spec.redis.sentinel.master_group_name, sentinel,
                                       password=credentials.redis_password, timeout=timeout))
    return list(await asyncio.gather(*tasks))


def pending_roll(kube, body: dict, *, endpoint_map: Mapping[str, Mapping[str, Any]] | None = None,
                 timeout: float = 5.0) -> tuple[str, tuple[str, ...], tuple[str, str] | None] | None:
    """(what the roll will do, Patroni REST URLs, their basic auth) when PostgreSQL members wait
    for a restart, else None. Blocking; never raises."""
    if (body.get("status") or {}).get("phase") not in ACTUATED_PHASES:
        return None
    try:
        _, endpoints, credentials, _ = environment_targets(kube, body, endpoint_map)
    except (SpecError, EndpointError):
        return None
    if not endpoints.patroni:
        return None

    async def read() -> dict:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return (await read_cluster(client, list(endpoints.patroni)))[1]

    try:
        cluster = asyncio.run(read())
    except Exception:  # noqa: BLE001 - Patroni not answering: the probes report it
        return None
    if not any(m.get("pending_restart") for m in cluster.get("members") or []):
        return None
    return describe_plan(cluster), tuple(endpoints.patroni), credentials.patroni_auth()


def roll_environment(rest_urls: tuple[str, ...], *, auth: tuple[str, str] | None = None,
                     budget: float = 300.0) -> ActuationResult:
    """The rolling restart (actuate/rolling.py). Blocking; never raises."""
    return asyncio.run(roll_pending_restarts(rest_urls, auth=auth, budget=budget))
