"""What both drills share: settings, the write log, waiting with a deadline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from parity.drill.report import Ack
from parity.probes.support import describe_error


class DrillError(RuntimeError):
    """The drill could not run (no leader to start from, no new leader in time, ...)."""


@dataclass
class DrillSettings:
    interval: float = 0.02  # pause between writes
    write_timeout: float = 3.0  # a write that takes longer is counted as failed
    warmup_writes: int = 20  # acknowledged writes before the kill
    settle_seconds: float = 2.0  # keep writing this long after the first write on the new leader
    timeout: float = 120.0  # give up waiting for a new leader / a writable primary after this
    ready_timeout: float = 60.0  # wait this long for a leader (and a sync standby) before starting


@dataclass
class WriteLog:
    acks: list[Ack] = field(default_factory=list)
    attempted: int = 0
    failed: int = 0
    last_error: str | None = None


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
