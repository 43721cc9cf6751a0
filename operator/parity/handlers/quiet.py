"""Timer passes and child events that would give a sync nothing new to read: no sync.

Without runtime probes a timer's pass is a sync that only reads and reports: the environment,
its children (the watch-fed index), its baseline (another index) and the credentials Secret (a
GET). When the environment, its children and its baseline are what the last completed sync of
it read, the pass computes the same status and writes nothing; it only costs a GET of the
environment, one of the Secret and a drift evaluation. Such passes were 57,123 of the
operator's 60,551 syncs while 1,000 environments converged (bench/bench_scale.py --envs 1000,
resync 30 s), competing with the creates still queued.

Which syncs count: every sync requested from the loop (a child's event, a baseline's, a timer's:
common.request_sync) leaves its fingerprint here when it completes: its indexed children as
they were when it was started (before it read them: a change after that start asks for another
sync anyway), the environment's resourceVersion it read or its own status write produced, and
its baseline's indexed entry (a baseline's edit asks for a sync of each of its environments).
The create/update/resume handlers' syncs leave none; the syncs that follow their writes do.

A timer pass is skipped when (handlers/timers.py):
- no sync of the environment has started in this process yet: its create or resume handler,
  which kopf runs for every environment, is still queued and does the first full read. While a
  thousand environments were created at once, their passes ran before their creates
  (bench/bench_scale.py --envs 500: created -> first child p50 186 s, 30 s resync);
- or its inputs fingerprint (handlers/index.InputsFingerprint: the timer's live body's
  resourceVersion, what a sync reads of the indexed children (kube/relevance.py: their status
  bookkeeping left out), the baseline's indexed entry; nothing decoded or requested) is the one
  the last completed sync left, that sync's status was not Stalled, and it ended less than
  `full_pass_seconds` ago.

A child's event asks for no sync when what a sync reads of the environment's children is what
its newest requested sync started with (`started`, `read_by_a_sync`): that sync reads this
event or a newer one, and the event changed nothing a sync reads (handlers/children.py).

What a skipped pass would have seen that the fingerprint does not hold: the credentials Secret
(Secrets are not watched) and objects that are not indexed children (a user's object holding a
child's name). So a Stalled environment (a lost Secret, a name conflict: waiting for exactly
such a change) is never skipped, and any other one is read in full at least every
`full_pass_seconds` (half the status heartbeat: 300 s by default), which also keeps the
heartbeat's write (`drift.checkedAt`) on time. A Secret deleted by hand, or a foreign object
created under a missing child's name, is so noticed within that period instead of one resync
period. Nothing else in a status depends on the clock without runtime probes: the phase and
conditions are computed from the objects read and the previous status, which the
resourceVersion holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from parity import constants

Key = tuple[str, str]


def children_digest(children: Iterable[int]) -> int:
    """An environment's indexed children as one number, from each one's digest of what a sync
    reads of it (kube/relevance.py); their order in the index does not matter."""
    return hash(frozenset(children))


def inputs_fingerprint(resource_version: str | None, children: int, baseline: str | None) -> int:
    """What a sync of one environment reads from kopf's memory, as one number: `children` is
    children_digest of its indexed children."""
    return hash((resource_version, children, baseline))


def reproducible(status: dict[str, Any] | None) -> bool:
    """Whether a pass that computed this status may stand for the next ones while their inputs
    do not change: any status but a Stalled one (a stalled environment waits for a change no
    fingerprint holds) or none (the pass failed, or found the environment gone)."""
    if not status:
        return False
    stalled = {c.get("type"): c for c in status.get("conditions") or []}.get(constants.CONDITION_STALLED) or {}
    return stalled.get("status") != "True"


class QuietPasses:
    """Per environment: the fingerprint of the last completed sync, and when it ended, if its
    status was reproducible. Entries are removed when an environment is deleted (`forget`) or a
    sync's status was not reproducible. Thread-safe (a lock): syncs end in worker threads."""

    def __init__(self, full_pass_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._full_pass_seconds = full_pass_seconds
        self._clock = clock
        self._guard = threading.Lock()
        self._last: dict[Key, tuple[int, float]] = {}
        # The children digest the environment's newest requested sync started with.
        self._started: dict[Key, int] = {}

    def started(self, key: Key, children: int) -> None:
        """A sync asked for from the loop started: it reads these children, or newer ones."""
        with self._guard:
            self._started[key] = children

    def read_by_a_sync(self, key: Key, children: int) -> bool:
        """Whether a sync started since the environment's children were last what `children`
        says (it reads them or newer), and did not fail: a child's event that left them so
        needs no sync of its own (handlers/children.py)."""
        with self._guard:
            return self._started.get(key) == children

    def skips(self, key: Key, fingerprint: int) -> bool:
        with self._guard:
            last = self._last.get(key)
        return (last is not None and last[0] == fingerprint
                and self._clock() - last[1] < self._full_pass_seconds)

    def completed(self, key: Key, fingerprint: int, status: dict[str, Any] | None) -> None:
        """After a sync: `status` is what it computed, None when it failed or found the
        environment gone. Only a reproducible status is remembered; anything else makes the
        next pass run in full."""
        with self._guard:
            if reproducible(status):
                self._last[key] = (fingerprint, self._clock())
            else:
                self._last.pop(key, None)
            if status is None:  # failed: the next event asks for a sync again
                self._started.pop(key, None)

    def forget(self, key: Key) -> None:
        with self._guard:
            self._last.pop(key, None)
            self._started.pop(key, None)

    def __len__(self) -> int:
        with self._guard:
            return len(self._last)
