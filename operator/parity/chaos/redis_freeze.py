"""redis-freeze: SIGSTOP every process of the Redis master's container for longer than Sentinel's
down-after-milliseconds, then SIGCONT. Sentinel must fail over to a replica; the thawed master
must come back as a replica of the new one (not as a second master); acknowledged writes lost
are counted (zero is required only when min-replicas-to-write is configured, as production
may: without it Redis replication is asynchronous and the loss is a figure)."""

from __future__ import annotations

import random
import time

from parity.chaos.context import ChaosContext, Timeline, wait
from parity.chaos.report import ChaosReport, Invariant
from parity.chaos.writers import RedisWriter


def _sentinels(ctx: ChaosContext) -> list[tuple[str, int]]:
    out = []
    for address in ctx.endpoints.sentinel:
        host, _, port = address.rpartition(":")
        out.append((host, int(port)))
    return out


SENTINEL_TILT_SECONDS = 30


def _role_or_error(client) -> str:
    try:
        return str(client.info("replication").get("role"))
    except Exception as err:  # noqa: BLE001 - the answer (or why there is none) is the evidence
        return f"unknown ({type(err).__name__}: {str(err)[:80]})"


def _sentinels_view(sentinel, group: str, host: str) -> str:
    """Why a member was not turned into a replica, as each Sentinel sees it: whether it is in
    TILT mode and the flags it holds for that member (e.g. s_down, disconnected)."""
    views = []
    for i, conn in enumerate(sentinel.sentinels):
        try:
            tilt = conn.info("sentinel").get("sentinel_tilt")
            flags = next((r.get("flags") for r in conn.sentinel_slaves(group) if r.get("ip") == host), "not listed")
            views.append(f"sentinel {i}: tilt={tilt} flags={flags}")
        except Exception as err:  # noqa: BLE001 - a Sentinel that does not answer is part of the picture
            views.append(f"sentinel {i}: {type(err).__name__}")
    return "; ".join(views)


def run(ctx: ChaosContext) -> ChaosReport:
    from redis import Redis
    from redis.sentinel import Sentinel

    rng = random.Random(ctx.seed)
    report = ChaosReport("redis-freeze", ctx.seed)
    timeline = Timeline(report)
    group = ctx.endpoints.master_group_name
    password = ctx.credentials.redis_password
    sentinel = Sentinel(_sentinels(ctx), socket_timeout=2, sentinel_kwargs={"socket_timeout": 2, "password": password})
    host, port = sentinel.discover_master(group)
    master_info = sentinel.sentinels[0].sentinel_master(group)
    down_after = int(master_info.get("down-after-milliseconds", 5000)) / 1000
    failover_timeout = int(master_info.get("failover-timeout", 60000)) / 1000
    old = Redis(host=host, port=int(port), socket_timeout=2, password=password)
    min_replicas = int(old.config_get("min-replicas-to-write").get("min-replicas-to-write", 0))
    pod = ctx.pod_of_address(host)
    # A Sentinel turns a returning old master into a replica a few seconds after it answers again,
    # unless it is in TILT mode (its timer stalled: a loaded node), which holds every action for
    # 30 s; failover-timeout is Sentinel's own bound for putting a member under the right master.
    rejoin_bound = failover_timeout + SENTINEL_TILT_SECONDS
    # The fault lasts at least past down-after-milliseconds; the seed adds up to 2 s of jitter.
    frozen_for = max(ctx.duration, down_after * 2) + rng.uniform(0, 2)
    writer = RedisWriter(_sentinels(ctx), group, password, run_id=str(ctx.seed))
    writer.start()
    try:
        wait(lambda: len(writer.acks.seqs) >= 20, 30, "writes acknowledged before the fault")
        timeline.add(f"SIGSTOP {pod} (master {host}:{port}) for {frozen_for:.1f}s")
        frozen_at = time.monotonic()
        frozen = ctx.faults.freeze(pod, "redis")
        try:
            new = wait(lambda: (m := sentinel.discover_master(group)) and m[0] != host and m,
                       down_after + failover_timeout, "Sentinel to name a new master")
            failed_over_after = time.monotonic() - frozen_at
            timeline.add(f"Sentinel names {new[0]}:{new[1]} master")
            time.sleep(max(0.0, frozen_for - (time.monotonic() - frozen_at)))
        except TimeoutError as err:
            new, failed_over_after = None, None
            timeline.add(str(err))
        finally:
            thawed = ctx.faults.thaw(frozen)
            thawed_at = time.monotonic()
            timeline.add(f"SIGCONT {pod}" if thawed else f"{pod}: restarted by the kubelet while frozen")
        role = rejoined_after = None
        sentinels_saw = ""
        if new is not None:
            try:
                role = wait(lambda: (r := old.info("replication").get("role")) == "slave" and r, rejoin_bound,
                            "the old master to rejoin as a replica")
            except TimeoutError:
                role = _role_or_error(old)
                sentinels_saw = _sentinels_view(sentinel, group, host)
            rejoined_after = time.monotonic() - thawed_at if role == "slave" else None
            timeline.add(f"old master {host} reports role {role}" + (f"; {sentinels_saw}" if sentinels_saw else ""))
        time.sleep(2)
    finally:
        writer.stop.set()
        writer.join(10)
    present = writer.present() if new is not None else set()
    lost = [s for s in writer.acks.seqs if s not in present] if new is not None else []
    outage = writer.acks.longest_gap(frozen_at, thawed_at)
    report.invariants.append(Invariant(
        "sentinel failed over", new is not None,
        f"new master {new[0]}:{new[1]} after {failed_over_after:.1f}s (down-after {down_after:.1f}s)" if new
        else f"no new master within down-after + failover-timeout ({down_after + failover_timeout:.0f}s)"))
    report.invariants.append(Invariant(
        "the thawed master rejoined as a replica", role == "slave",
        f"{host} reports role {role} ({'after' if role == 'slave' else 'within'} "
        f"{rejoined_after if rejoined_after is not None else rejoin_bound:.0f}s)"
        + (f"; {sentinels_saw}" if sentinels_saw else "") if role else "not checked: no failover"))
    if min_replicas:
        report.invariants.append(Invariant(
            "no acknowledged write lost (min-replicas-to-write)", new is not None and not lost,
            f"{len(lost)} of {len(writer.acks.seqs)} acknowledged writes missing"))
    report.figures.update({
        "frozen_seconds": round(frozen_for, 2),
        "failover_seconds": round(failed_over_after, 2) if failed_over_after is not None else "-",
        "without_writable_primary_seconds": round(outage, 2),
        "acked_writes": len(writer.acks.seqs),
        "acked_writes_lost": len(lost) if new is not None else "-",
        "min_replicas_to_write": min_replicas,
        "heal_seconds": round(rejoined_after, 2) if rejoined_after is not None else "-",
    })
    return report
