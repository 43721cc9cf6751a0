"""Timer passes that would read what the last one read: skipped for a Ready environment.

Without runtime probes a timer's pass is a sync that only reads and reports: the environment,
its children (the watch-fed index), its baseline (another index) and the credentials Secret (a
GET). For a Ready environment whose environment, children and baseline are what its last
completed pass read, that pass computes the same status and writes nothing; it only costs a GET
of the environment, one of the Secret and a drift evaluation. Those passes were 57,123 of the
operator's 60,551 syncs while 1,000 environments converged (bench/bench_scale.py --envs 1000,
resync 30 s): the converged environments' passes, competing with the creates still queued.

A pass's inputs are fingerprinted on the event loop from what kopf already holds (handlers/
index.InputsFingerprint): the environment's resourceVersion from the timer's live body, the
indexed children's stored bytes and the baseline's indexed entry. Nothing is decoded or
requested. The pass is skipped when that fingerprint is the one recorded by the last completed
pass of the environment, that pass found it Ready and not Stalled, and it ended less than
`full_pass_seconds` ago.

What a skipped pass would have seen that the fingerprint does not hold: the credentials Secret
(Secrets are not watched) and objects that are not indexed children (a user's object holding a
child's name). So an environment that is not Ready, or is Stalled (a lost Secret, a name
conflict: waiting for exactly such a change), is never skipped, and a Ready one is read in full
at least every `full_pass_seconds` (half the status heartbeat: 300 s by default), which also
keeps the heartbeat's write (`drift.checkedAt`) on time. A Secret deleted by hand under a Ready
environment is so noticed within that period instead of one resync period.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from parity import constants

Key = tuple[str, str]


def inputs_fingerprint(resource_version: str | None, children: Iterable[bytes], baseline: str | None) -> int:
    """What a sync of one environment reads from kopf's memory, as one number. The children's
    stored bytes change with every event of a child (its resourceVersion is in them); their
    order in the index does not matter."""
    return hash((resource_version, frozenset(children), baseline))


def settled(status: dict[str, Any] | None) -> bool:
    """Whether a pass that found this status may stand for the next ones while nothing changes:
    Ready, and not Stalled (a stalled environment waits for a change no fingerprint holds)."""
    if not status or status.get("phase") != "Ready":
        return False
    stalled = {c.get("type"): c for c in status.get("conditions") or []}.get(constants.CONDITION_STALLED) or {}
    return stalled.get("status") != "True"


class QuietPasses:
    """Per environment: the fingerprint of the last completed pass that settled it, and when.
    Called from the event loop (skips) and from sync threads (completed), hence the lock.
    Entries are removed when an environment is deleted (`forget`) or a pass did not settle it."""

    def __init__(self, full_pass_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._full_pass_seconds = full_pass_seconds
        self._clock = clock
        self._guard = threading.Lock()
        self._last: dict[Key, tuple[int, float]] = {}

    def skips(self, key: Key, fingerprint: int) -> bool:
        with self._guard:
            last = self._last.get(key)
        return (last is not None and last[0] == fingerprint
                and self._clock() - last[1] < self._full_pass_seconds)

    def completed(self, key: Key, fingerprint: int, status: dict[str, Any] | None) -> None:
        """After a pass's sync: `status` is what it computed, None when it failed or found the
        environment gone. Only a settled status is remembered; anything else makes the next
        pass run in full."""
        with self._guard:
            if settled(status):
                self._last[key] = (fingerprint, self._clock())
            else:
                self._last.pop(key, None)

    def forget(self, key: Key) -> None:
        with self._guard:
            self._last.pop(key, None)

    def __len__(self) -> int:
        with self._guard:
            return len(self._last)
