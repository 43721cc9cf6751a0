"""patroni-partition: cut the Patroni primary off from etcd and from its replicas (iptables in its
pod's network namespace; the host, and so the API server and this checker, still reach it), keep
the partition for the duration, then heal. Invariants: never more than one member accepting writes
at any sampled moment (no split brain); a replica took over within ttl + loop_wait + margin; with
synchronous mode, no acknowledged write lost; the old primary rejoined as a replica."""

from __future__ import annotations

import random
import time

from parity.chaos.context import ChaosContext, Timeline, wait
from parity.chaos.postgres_watch import WritableWatch, member_ips, member_role, patroni_leader
from parity.chaos.report import ChaosReport, Invariant
from parity.chaos.writers import PostgresWriter

MARGIN_SECONDS = 15


def run(ctx: ChaosContext) -> ChaosReport:
    rng = random.Random(ctx.seed)
    report = ChaosReport("patroni-partition", ctx.seed)
    timeline = Timeline(report)
    patroni = ctx.spec.postgres.patroni
    ttl, loop_wait = patroni.ttl, patroni.loop_wait
    synchronous = bool(patroni.synchronous_mode)
    ips = member_ips(ctx)
    old = wait(lambda: patroni_leader(ctx), 60, "running Patroni leader")
    peers = [ip for name, ip in ips.items() if name != old] + [p["status"]["podIP"] for p in ctx.pods("etcd")]
    hold = max(ctx.duration, ttl + loop_wait + MARGIN_SECONDS) + rng.uniform(0, 2)
    watch = WritableWatch(ips, ctx.credentials.postgres_user, ctx.credentials.postgres_password)
    writer = PostgresWriter(ctx.conninfo, run_id=f"partition-{ctx.seed}-{int(time.time())}")
    watch.start()
    writer.start()
    new = failover_after = rejoined_after = None
    try:
        wait(lambda: len(writer.acks.seqs) >= 20, 30, "writes acknowledged before the fault")
        timeline.add(f"partition {old} from etcd and its replicas ({len(peers)} peers) for {hold:.1f}s")
        started = time.monotonic()
        pid = ctx.faults.partition(old, "postgres", peers)
        try:
            new = wait(lambda: (leader := patroni_leader(ctx, exclude=old)) not in (None, old) and leader,
                       ttl + loop_wait + MARGIN_SECONDS + 30, "new leader among the replicas")
            failover_after = time.monotonic() - started
            timeline.add(f"{new} leads")
            wait(lambda: any(t > started + failover_after for t in writer.acks.times), 60,
                 "a write acknowledged through the primary Service after the failover")
        except TimeoutError as err:
            timeline.add(str(err))
        time.sleep(max(0.0, hold - (time.monotonic() - started)))
        ctx.faults.heal_partition(pid)
        healed = time.monotonic()
        timeline.add("partition healed")
        try:
            rejoined = wait(lambda: member_role(ips[old]) == "replica", 180, f"{old} to rejoin as a replica")
        except TimeoutError as err:
            rejoined = False
            timeline.add(str(err))
        else:
            rejoined_after = time.monotonic() - healed
            timeline.add(f"{old} is a replica again")
        time.sleep(2)
    finally:
        writer.stop.set()
        writer.join(10)
        watch.stop.set()
        watch.join(10)
    lost = [s for s in writer.acks.seqs if s not in writer.present()]
    report.invariants.append(Invariant(
        "never more than one writable primary", watch.max_writable <= 1,
        f"at most {watch.max_writable} writable member(s) in {watch.samples} samples"
        + (f" ({', '.join(watch.worst)})" if watch.max_writable > 1 else "")))
    bound = ttl + loop_wait + MARGIN_SECONDS
    report.invariants.append(Invariant(
        f"failover within ttl + loop_wait + {MARGIN_SECONDS}s ({bound}s)",
        failover_after is not None and failover_after <= bound,
        f"{new} led after {failover_after:.1f}s" if failover_after is not None else "no replica took over"))
    if synchronous:
        report.invariants.append(Invariant(
            "no acknowledged write lost (synchronous mode)", not lost,
            f"{len(lost)} of {len(writer.acks.seqs)} acknowledged writes missing"))
    report.invariants.append(Invariant("the old primary rejoined as a replica", bool(rejoined),
                                       f"{old} role {member_role(ips[old])}"))
    report.figures.update({
        "partition_seconds": round(healed - started, 2),
        "failover_seconds": round(failover_after, 2) if failover_after is not None else "-",
        "without_writable_primary_seconds": round(writer.acks.longest_gap(started, healed), 2),
        "acked_writes": len(writer.acks.seqs),
        "acked_writes_lost": len(lost),
        "writable_samples": watch.samples,
        "heal_seconds": round(rejoined_after, 2) if rejoined_after is not None else "-",
    })
    return report
