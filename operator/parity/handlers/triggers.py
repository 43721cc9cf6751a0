"""Serialise and coalesce syncs per environment.

kopf serialises handlers per object, but an environment is also synced from events of its
children and of its baseline, which arrive on other objects, in other worker threads, often in
bursts (creating twenty children makes twenty events). One lock per environment keeps syncs
of one environment from overlapping; a pending flag lets a burst collapse into one sync,
because a sync always reads the newest state.

A coalesced sync never waits for a running one: it leaves itself to be run by the thread that
holds the environment's lock, right after that thread's own sync. Waiting would hold one of the
few sync threads for as long as the other sync takes (a create applies dozens of objects), and
with many environments being created at once, half the pool sat waiting on locks instead of
syncing. Entries are removed when an environment is deleted, so these maps are bounded by the
number of live environments.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Key = tuple[str, str]

log = logging.getLogger(__name__)


class Triggers:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[Key, threading.Lock] = {}
        self._pending: set[Key] = set()
        # Coalesced syncs left to the lock's holder (at most one per environment: the newest).
        self._deferred: dict[Key, Callable[[], object]] = {}
        # When each environment's last sync ended (the clock's time): spacing for event syncs.
        self._ended: dict[Key, float] = {}
        # The spacing an environment that kept busy has grown to (absent: the base spacing).
        self._spacing: dict[Key, float] = {}

    def _lock(self, key: Key) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def run(self, key: Key, fn: Callable[[], T]) -> T:
        """Run fn while holding the environment's lock (waits for a running sync)."""
        lock = self._lock(key)
        lock.acquire()
        # A handler's sync (a spec edit, a resume) starts a new episode: a spacing grown by an
        # earlier burst must not delay the events that follow it.
        self._reset_spacing(key)
        try:
            return fn()
        finally:
            self._release(key, lock)

    def coalesce(self, key: Key, fn: Callable[[], T], settle: float = 0.0, *,
                 handed_over: Callable[[], object] | None = None) -> T | None:
        """Run fn unless a run for this key is already waiting: that one will see the same state.
        `settle` waits a moment first, so the rest of a burst (a StatefulSet's pods becoming
        ready one by one) joins this run instead of starting another full read. When a sync of
        this environment is running, `handed_over` (default fn) is left to its thread, which runs
        it next, and None is returned at once: that callable deals with its own errors, since
        nobody waits for it."""
        if not self.claim(key):
            return None
        if settle:
            time.sleep(settle)
        return self.run_claimed(key, fn, handed_over=handed_over)

    def claim(self, key: Key) -> bool:
        """The first half of coalesce: False when a run for this key is already waiting. True
        obliges the caller to call run_claimed (after settling, wherever it waits)."""
        with self._guard:
            if key in self._pending:
                return False
            self._pending.add(key)
            return True

    def run_claimed(self, key: Key, fn: Callable[[], T], *,
                    handed_over: Callable[[], object] | None = None, spaces_next: bool = True) -> T | None:
        """The second half of coalesce: run fn now, or hand it to the running sync.
        `spaces_next` False: this run is no part of a burst (a timer's pass), so its end does
        not delay the next event-driven sync (wait_before) and a grown spacing is reset; a run
        handed over to it is an event's sync and spaces the next as usual."""
        lock = self._lock(key)
        with self._guard:
            self._pending.discard(key)
            if not lock.acquire(blocking=False):
                self._deferred[key] = handed_over or fn
                return None
        if not spaces_next:
            self._reset_spacing(key)
        try:
            return fn()
        finally:
            self._release(key, lock, spaces_next=spaces_next)

    def _release(self, key: Key, lock: threading.Lock, *, spaces_next: bool = True) -> None:
        """Run what was deferred to this holder, then let go. Checking for deferred work and
        releasing happen under the guard, so a coalesced sync either sees the lock free or is
        seen here: none is lost between the two."""
        while True:
            with self._guard:
                deferred = self._deferred.pop(key, None)
                if deferred is None:
                    if spaces_next and key in self._locks:  # not forgotten meanwhile: bounded like the locks
                        self._ended[key] = self._clock()
                    lock.release()
                    return
            spaces_next = True  # what was handed over is an event's sync
            try:
                deferred()
            except Exception:  # noqa: BLE001 - the deferred sync's own failure must not fail this one
                log.exception("%s/%s: a deferred sync failed", *key)

    def wait_before(self, key: Key, settle: float, spacing: float, max_spacing: float | None = None) -> float:
        """How long an event-driven sync waits before it reads: `settle`, or longer so that it
        starts at least the spacing after this environment's last sync ended. A converging
        environment's children change every few hundred ms (each pod of each StatefulSet
        becoming ready, each status of a PodDisruptionBudget); spaced, those changes share
        syncs instead of each costing reads, a status write and Events. An environment quiet
        for longer than its spacing (a user's edit) waits only `settle`.

        The spacing starts at `spacing` and doubles with each sync that had to be spaced, up to
        `max_spacing` (None: it never grows): an environment whose children keep changing for
        tens of seconds is synced less and less often while it does, and its status lags by at
        most `max_spacing`. A quiet gap as long as the current spacing resets it."""
        with self._guard:
            ended = self._ended.get(key)
            if ended is None:
                return settle
            current = self._spacing.get(key, spacing)
            now = self._clock()
            if now - ended >= current:
                self._spacing.pop(key, None)
                return settle
            grown = min(current * 2, max_spacing) if max_spacing is not None and max_spacing > current else None
            if grown is not None:
                self._spacing[key] = grown
            return max(settle, ended + current - now)

    def _reset_spacing(self, key: Key) -> None:
        with self._guard:
            self._spacing.pop(key, None)

    def knows(self, key: Key) -> bool:
        """Whether this process has synced (or is syncing) this environment since it started."""
        with self._guard:
            return key in self._locks

    def forget(self, key: Key) -> None:
        with self._guard:
            self._locks.pop(key, None)
            self._pending.discard(key)
            self._deferred.pop(key, None)
            self._ended.pop(key, None)
            self._spacing.pop(key, None)

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)
