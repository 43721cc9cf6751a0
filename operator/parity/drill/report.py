"""What a failover drill measured, and how it is shown. Pure: plain data in, text out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

# At most this many lost sequence numbers are listed; the count is always complete.
MAX_LISTED_LOST = 20
# At most this many failover-system events are kept in a report (the first ones: they explain
# the failover; the rest are counted).
MAX_EVENTS = 80
TITLES = {"patroni": "Patroni failover drill", "redis": "Redis Sentinel failover drill"}


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: its sequence number, when it was acknowledged (monotonic seconds)
    and which node acknowledged it."""

    seq: int
    at: float
    node: str


@dataclass(frozen=True)
class Outage:
    last_ack_before: float | None
    first_ack_after: float | None

    @property
    def seconds(self) -> float | None:
        if self.last_ack_before is None or self.first_ack_after is None:
            return None
        return self.first_ack_after - self.last_ack_before


def measure_outage(acks: Sequence[Ack], old_node: str) -> Outage:
    """From the last write the old leader acknowledged to the first one another node acknowledged.

    By node rather than by the clock: the kill takes some milliseconds, and a write the old leader
    acknowledged during them still belongs before the failure.
    """
    before = [a.at for a in acks if a.node == old_node]
    last = max(before) if before else None
    after = [a.at for a in acks if a.node != old_node and (last is None or a.at > last)]
    return Outage(last, min(after) if after else None)


def measure_outage_around(acks: Sequence[Ack], failed_at: float) -> Outage:
    """From the last write acknowledged before `failed_at` (the first write that failed after the
    kill) to the first acknowledged after it, whichever node acknowledged it: for a kill that the
    same leader may survive (a restarted container keeps its Patroni leader key while it lives)."""
    before = [a.at for a in acks if a.at < failed_at]
    after = [a.at for a in acks if a.at > failed_at]
    return Outage(max(before) if before else None, min(after) if after else None)


def find_lost(acked: Iterable[int], present: Iterable[int]) -> list[int]:
    """Acknowledged sequence numbers the new primary does not have, in order."""
    have = set(present)
    return sorted(s for s in acked if s not in have)


@dataclass
class DrillReport:
    kind: str  # "patroni" or "redis"
    old_leader: str | None = None
    new_leader: str | None = None
    # The killed leader led again afterwards (a process kill it survived), rather than another node.
    same_leader_returned: bool = False
    killed: str | None = None
    synchronous: bool | None = None
    zero_loss_required: bool = False
    attempted_writes: int = 0
    acked_writes: int = 0
    acked_before_kill: int = 0
    acked_after_kill: int = 0
    failed_writes: int = 0
    present_acked: int = 0
    lost_acked_writes: int = 0
    lost_seqs: list[int] = field(default_factory=list)
    unacked_but_present: int = 0
    unavailable_seconds: float | None = None
    leader_elected_seconds: float | None = None
    duration_seconds: float | None = None
    # The failover system's own account while the drill ran (Redis: every Sentinel's published
    # events, `+12.3s sentinel-0 +odown ...`, seconds from the kill), so a slow or missing
    # failover says why; `events_dropped` counts the ones past MAX_EVENTS.
    events: list[str] = field(default_factory=list)
    events_dropped: int = 0
    # How long the drill waited for the new leader at most (from --failover-timeout or the
    # failover system's own settings).
    failover_wait_seconds: float | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        if self.error is not None:
            return False
        return not (self.zero_loss_required and self.lost_acked_writes > 0)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        for key in ("unavailable_seconds", "leader_elected_seconds", "duration_seconds", "failover_wait_seconds"):
            if data[key] is not None:
                data[key] = round(data[key], 3)
        return data


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def render_report(report: DrillReport, output: str = "table") -> str:
    if output == "json":
        return json.dumps(report.to_dict(), indent=2, sort_keys=True)
    title = TITLES.get(report.kind, report.kind)
    mark = "✓" if report.passed else "✗"
    rows = [
        ("result", f"{mark} {'passed' if report.passed else 'FAILED'}" + (f": {report.error}" if report.error else "")),
        ("old leader", report.old_leader or "-"),
        ("new leader", (report.new_leader or "-") + ("  (the same member, restarted)" if report.same_leader_returned
                                                       else "")),
        ("killed", report.killed or "-"),
        ("synchronous", "-" if report.synchronous is None else ("on" if report.synchronous else "off")),
        (
            "without writable primary",
            f"{_seconds(report.unavailable_seconds)}  (last ack before → first ack after the kill)",
        ),
        ("new leader visible after", _seconds(report.leader_elected_seconds) + "  (from the kill)"),
        ("writes attempted", str(report.attempted_writes)),
        (
            "writes acknowledged",
            f"{report.acked_writes}  ({report.acked_before_kill} before the kill, {report.acked_after_kill} after)",
        ),
        ("writes failed", str(report.failed_writes)),
        ("acknowledged and present", str(report.present_acked)),
    ]
    lost = str(report.lost_acked_writes)
    if report.lost_acked_writes:
        listed = ", ".join(map(str, report.lost_seqs))
        more = " …" if report.lost_acked_writes > len(report.lost_seqs) else ""
        lost = f"{'✗' if report.zero_loss_required else '!'} {lost}  (seq {listed}{more})"
    if report.zero_loss_required:
        lost += "  (zero required: synchronous mode)"
    rows.append(("acknowledged but LOST", lost))
    rows.append(("unacknowledged but present", str(report.unacked_but_present)))
    if report.failover_wait_seconds is not None:
        rows.append(("waited for a new leader up to", _seconds(report.failover_wait_seconds)))
    if report.events:
        more = [f"… {report.events_dropped} more"] if report.events_dropped else []
        rows.append(("events", "\n".join(report.events + more)))
    width = max(len(r[0]) for r in rows)
    # A multi-line value (the events) continues under its first line.
    return "\n".join([title] + [f"  {name.ljust(width)}  " + value.replace("\n", "\n" + " " * (width + 4))
                                 for name, value in rows])
