"""etcd-member-loss: freeze (SIGSTOP) one etcd member, then a second (the DCS loses quorum), then
thaw both. Invariants: with one member stopped, writes through the primary Service go on; with
quorum lost, the Patroni primary demotes (failsafe_mode off: it cannot renew its leader key) or
keeps serving (failsafe_mode on, while it reaches every member); after the restore there is a
leader and writes are accepted again; with synchronous mode, no acknowledged write lost."""

from __future__ import annotations

import random
import time

from parity.chaos.context import ChaosContext, Timeline, wait
from parity.chaos.postgres_watch import WritableWatch, member_ips, patroni_leader
from parity.chaos.report import ChaosReport, Invariant
from parity.chaos.writers import PostgresWriter

MARGIN_SECONDS = 15


def run(ctx: ChaosContext) -> ChaosReport:
    rng = random.Random(ctx.seed)
    report = ChaosReport("etcd-member-loss", ctx.seed)
    timeline = Timeline(report)
    patroni = ctx.spec.postgres.patroni
    bound = patroni.ttl + patroni.loop_wait + MARGIN_SECONDS
    members = [p["metadata"]["name"] for p in ctx.pods("etcd")]
    if len(members) < 3:
        raise ValueError(f"etcd-member-loss needs 3 or more etcd members, {ctx.namespace}/{ctx.name} has {len(members)}")
    first, second = rng.sample(members, 2)
    wait(lambda: patroni_leader(ctx), 60, "running Patroni leader")
    writer = PostgresWriter(ctx.conninfo, run_id=f"etcd-{ctx.seed}-{int(time.time())}")
    watch = WritableWatch(member_ips(ctx), ctx.credentials.postgres_user, ctx.credentials.postgres_password)
    writer.start()
    watch.start()
    stopped: list[tuple[str, str]] = []  # (pod, the frozen instance's container id)
    one_down_ok = demoted_after = recovered_after = None
    try:
        wait(lambda: len(writer.acks.seqs) >= 20, 30, "writes acknowledged before the fault")
        stopped.append((first, ctx.faults.freeze(first, "etcd")))
        timeline.add(f"SIGSTOP {first}")
        one_down_at = time.monotonic()
        time.sleep(max(ctx.duration / 2, patroni.ttl))
        one_down_ok = writer.acks.longest_gap(one_down_at, time.monotonic()) < patroni.retry_timeout
        timeline.add(f"writes with one member stopped: {'on' if one_down_ok else 'interrupted'}")

        stopped.append((second, ctx.faults.freeze(second, "etcd")))
        quorum_lost_at = time.monotonic()
        timeline.add(f"SIGSTOP {second}: quorum lost")
        if patroni.failsafe_mode:
            time.sleep(bound)
            kept = any(t > quorum_lost_at + bound - 5 for t in writer.acks.times)
            timeline.add(f"failsafe_mode on: primary {'kept serving' if kept else 'stopped serving'}")
        else:
            try:
                wait(lambda: not any(t > time.monotonic() - 3 for t in writer.acks.times)
                     and watch.samples and not _any_writable(watch), bound, "demotion of the primary")
                demoted_after = time.monotonic() - quorum_lost_at
                timeline.add(f"no writable primary after {demoted_after:.1f}s")
            except TimeoutError as err:
                timeline.add(str(err))
            time.sleep(max(0.0, ctx.duration / 2 - (time.monotonic() - quorum_lost_at)))
    finally:
        # Stopped longer than its liveness probe allows, a member is killed and restarted by the
        # kubelet, as in production; that restart is the recovery, and the report says so.
        replaced = ctx.faults.thaw_all(list(reversed(stopped)))
        timeline.add(f"SIGCONT {', '.join(pod for pod, _ in stopped)}")
        if replaced:
            timeline.add(f"{', '.join(replaced)}: restarted by the kubelet (liveness probe) while stopped")
    restored_at = time.monotonic()
    try:
        wait(lambda: patroni_leader(ctx), 120, "Patroni leader after the restore")
        wait(lambda: any(t > restored_at for t in writer.acks.times), 120, "a write acknowledged after the restore")
        recovered_after = time.monotonic() - restored_at
        timeline.add(f"writes accepted again after {recovered_after:.1f}s")
        time.sleep(2)
    except TimeoutError as err:
        timeline.add(str(err))
    finally:
        writer.stop.set()
        writer.join(10)
        watch.stop.set()
        watch.join(10)
    lost = [s for s in writer.acks.seqs if s not in writer.present()] if recovered_after is not None else []
    report.invariants.append(Invariant("writes go on with one etcd member stopped", bool(one_down_ok),
                                       f"longest gap with {first} stopped below retry_timeout "
                                       f"({patroni.retry_timeout}s)" if one_down_ok else "writes stalled"))
    if patroni.failsafe_mode:
        report.invariants.append(Invariant("quorum lost, failsafe_mode on: the primary keeps serving", kept,
                                           "writes acknowledged through the quorum loss" if kept else
                                           "no write acknowledged late in the quorum loss"))
    else:
        report.invariants.append(Invariant(
            f"quorum lost, failsafe_mode off: the primary demotes within {bound}s", demoted_after is not None,
            f"no member accepted writes after {demoted_after:.1f}s" if demoted_after is not None
            else "a member still accepted writes"))
    report.invariants.append(Invariant("after the restore: a leader, and writes accepted", recovered_after is not None,
                                       f"after {recovered_after:.1f}s" if recovered_after is not None
                                       else "not within 120s"))
    report.invariants.append(Invariant("never more than one writable primary", watch.max_writable <= 1,
                                       f"at most {watch.max_writable} in {watch.samples} samples"))
    if patroni.synchronous_mode and recovered_after is not None:
        report.invariants.append(Invariant("no acknowledged write lost (synchronous mode)", not lost,
                                           f"{len(lost)} of {len(writer.acks.seqs)} acknowledged writes missing"))
    report.figures.update({
        "stopped": f"{first}, then {second}",
        "demoted_after_quorum_loss_seconds": round(demoted_after, 2) if demoted_after is not None else "-",
        "writable_again_after_restore_seconds": round(recovered_after, 2) if recovered_after is not None else "-",
        "acked_writes": len(writer.acks.seqs),
        "acked_writes_lost": len(lost) if recovered_after is not None else "-",
        "heal_seconds": round(recovered_after, 2) if recovered_after is not None else "-",
        "without_writable_primary_seconds": round(writer.acks.longest_gap(one_down_at, restored_at + (
            recovered_after or 0)), 2),
    })
    return report


def _any_writable(watch: WritableWatch) -> bool:
    return any(watch.writable(ip) for ip in watch.ips.values())
