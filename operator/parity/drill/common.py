"""What both drills share: settings, the write log, waiting with a deadline, the writer loop,
and the kill / fail over / verify sequence around it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Sequence

from parity.drill.killers import KillError, KillTarget, LeaderKiller
from parity.drill.report import MAX_LISTED_LOST, Ack, DrillReport, find_lost, measure_outage, measure_outage_around
from parity.probes.support import describe_error, redact_secrets


# How long a Patroni drill waits for a new leader when not told: well above ttl + loop_wait of
# any sane configuration (the defaults are 30 s + 10 s).
PATRONI_FAILOVER_WAIT = 120.0


class DrillError(RuntimeError):
    """The drill could not run (no leader to start from, no new leader in time, ...)."""


@dataclass
class DrillSettings:
    interval: float = 0.02  # pause between writes
    write_timeout: float = 3.0  # a write that takes longer is counted as failed
    warmup_writes: int = 20  # acknowledged writes before the kill
    settle_seconds: float = 2.0  # keep writing this long after the first write on the new leader
    # Give up waiting for a new leader / a writable primary after this. None: the failover
    # system's own bound (Patroni: PATRONI_FAILOVER_WAIT; Redis: read from the Sentinels).
    timeout: float | None = None
    ready_timeout: float = 60.0  # wait this long for a leader (and a sync standby) before starting
    # The killed leader may lead again (a process kill: see drive_failover).
    leader_may_return: bool = False


@dataclass
class WriteLog:
    acks: list[Ack] = field(default_factory=list)
    attempted: int = 0
    failed: int = 0
    last_error: str | None = None
    failed_at: list[float] = field(default_factory=list)  # monotonic seconds of each failed write


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Await predicate() until it returns something truthy; DrillError naming `what` on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        try:
            result = await predicate()
            if result:
                return result
        except Exception as err:  # noqa: BLE001
            last = describe_error(err)
        await asyncio.sleep(interval)
    raise DrillError(f"{what} within {timeout:.0f}s" + (f" (last error: {last})" if last else ""))


async def wait_until_true(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """wait_for for a plain condition on local state (the write log)."""

    async def check() -> bool:
        return condition()

    await wait_for(check, timeout, what, interval)


class Writer:
    """Writes seq, seq+1, ... to whichever node is primary, recording acknowledgements.

    After any failed write the connection is dropped and reopened, so the writer follows a
    failover the way a client that rediscovers the primary would. Subclasses say how to open a
    connection to the current primary, write one number and close.
    """

    def __init__(self, start_seq: int, settings: DrillSettings, secrets: Iterable[str | None] = ()):
        self.seq = start_seq
        self.settings = settings
        self.secrets = list(secrets)
        self.log = WriteLog()
        self.stopped = asyncio.Event()
        self.connection: Any = None
        self.node: str | None = None

    async def _open(self) -> tuple[Any, str]:
        """(connection, node name) of the current primary; raises while there is none."""
        raise NotImplementedError

    async def _write(self, connection: Any, seq: int) -> None:
        raise NotImplementedError

    async def _close(self, connection: Any) -> None:
        raise NotImplementedError

    def _describe(self, err: BaseException) -> str:
        return redact_secrets(describe_error(err), self.secrets)

    async def _drop(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                await asyncio.wait_for(self._close(connection), 1)
            except Exception:  # noqa: BLE001 - the server is gone; closing is a courtesy
                pass

    async def run(self) -> None:
        while not self.stopped.is_set():
            if self.connection is None:
                try:
                    self.connection, self.node = await self._open()
                except Exception as err:  # noqa: BLE001 - no writable primary yet: try again
                    self.log.last_error = self._describe(err)
                    await asyncio.sleep(0.1)
                    continue
            seq = self.seq
            self.seq += 1
            self.log.attempted += 1
            try:
                await asyncio.wait_for(self._write(self.connection, seq), self.settings.write_timeout)
                self.log.acks.append(Ack(seq, time.monotonic(), self.node or "?"))
            except Exception as err:  # noqa: BLE001 - failed, or its fate is unknown: not acknowledged
                self.log.failed += 1
                self.log.failed_at.append(time.monotonic())
                self.log.last_error = self._describe(err)
                await self._drop()
                continue
            await asyncio.sleep(self.settings.interval)
        await self._drop()


async def drive_failover(
    report: DrillReport,
    writer: Writer,
    killer: LeaderKiller,
    target: KillTarget,
    old: str,
    new_leader: Callable[[], Awaitable[str | None]],
    settings: DrillSettings,
    role: str,
) -> bool:
    """Warm up the writer, kill `target`, wait for `new_leader()` to name another node and for a
    write acknowledged there, then count the writes into `report`.

    With `settings.leader_may_return` (a process kill: the kubelet restarts the container, and a Patroni
    member back before its leader key expires keeps the lock), the leader after the kill is
    whichever node acknowledges the first write after the first write that failed, the old one
    included; the writes are split at that failure instead of by node.

    False when the kill itself failed (report.error says why; nothing is counted). A failover
    that does not complete in time is recorded in report.error, not raised.
    """
    if settings.timeout is None:
        raise ValueError("drive_failover needs settings.timeout resolved by the drill")
    task = asyncio.create_task(writer.run())
    try:
        await wait_until_true(
            lambda: len(writer.log.acks) >= settings.warmup_writes,
            settings.ready_timeout,
            "no writes acknowledged before the kill",
            interval=0.02,
        )
        killed_at = time.monotonic()
        failures_before = len(writer.log.failed_at)
        try:
            report.killed = await killer.kill(target)
        except KillError as err:
            report.error = str(err)
            return False
        try:
            if settings.leader_may_return:
                felt_at = await _first_failure_after(writer, failures_before, killed_at, settings, target.member)

                async def first_ack_after() -> Ack | None:
                    return next((a for a in writer.log.acks if a.at > felt_at), None)

                ack = await wait_for(first_ack_after, settings.timeout,
                                     f"no write acknowledged after the kill of {target.member}")
                report.new_leader = ack.node
                report.same_leader_returned = ack.node == old
                report.leader_elected_seconds = ack.at - killed_at
            else:
                report.new_leader = await wait_for(new_leader, settings.timeout, f"no new {role}")
                report.leader_elected_seconds = time.monotonic() - killed_at
                await wait_until_true(
                    lambda: any(a.node != old for a in writer.log.acks),
                    settings.timeout,
                    f"no write acknowledged by the new {role}",
                )
            await asyncio.sleep(settings.settle_seconds)
        except DrillError as err:
            report.error = f"{err}; last write error: {writer.log.last_error}"
    finally:
        writer.stopped.set()
        await asyncio.wait_for(task, settings.write_timeout + 5)
    _count_writes(report, writer.log, old,
                  felt_at=_felt_at(writer.log, failures_before, killed_at) if settings.leader_may_return else None)
    return True


def _felt_at(log: WriteLog, failures_before: int, killed_at: float) -> float | None:
    return next((t for t in log.failed_at[failures_before:] if t >= killed_at), None)


async def _first_failure_after(writer: "Writer", failures_before: int, killed_at: float, settings: DrillSettings,
                               member: str) -> float:
    """When the kill was felt: the first write that failed after it."""
    await wait_until_true(lambda: _felt_at(writer.log, failures_before, killed_at) is not None, settings.timeout,
                          f"the kill of {member} was not felt: every write still succeeded")
    return _felt_at(writer.log, failures_before, killed_at)


def _count_writes(report: DrillReport, log: WriteLog, old: str, *, felt_at: float | None) -> None:
    acks = log.acks
    report.attempted_writes = log.attempted
    report.acked_writes = len(acks)
    report.failed_writes = log.failed
    if felt_at is None:
        report.acked_before_kill = sum(1 for a in acks if a.node == old)
        report.unavailable_seconds = measure_outage(acks, old).seconds
    else:
        report.acked_before_kill = sum(1 for a in acks if a.at < felt_at)
        report.unavailable_seconds = measure_outage_around(acks, felt_at).seconds
    report.acked_after_kill = report.acked_writes - report.acked_before_kill


async def verify_writes(
    report: DrillReport,
    acks: Sequence[Ack],
    read_present: Callable[[], Awaitable[list[int]]],
    password: str | None,
) -> None:
    """Compare the acknowledged writes with what `read_present()` finds on the new primary."""
    try:
        present = await read_present()
    except Exception as err:  # noqa: BLE001
        report.error = f"cannot verify the writes: {redact_secrets(describe_error(err), [password])}"
    else:
        acked = {a.seq for a in acks}
        lost = find_lost(acked, present)
        report.present_acked = len(acked) - len(lost)
        report.lost_acked_writes = len(lost)
        report.lost_seqs = lost[:MAX_LISTED_LOST]
        report.unacked_but_present = len(set(present) - acked)
