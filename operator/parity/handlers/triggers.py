"""Serialise and coalesce syncs per environment.

kopf serialises handlers per object, but an environment is also synced from events of its
children and of its baseline, which arrive on other objects, in other worker threads, often in
bursts (creating twenty children makes twenty events). One lock per environment keeps syncs
of one environment from overlapping; a pending flag lets a burst collapse into one sync,
because a sync always reads the newest state. Entries are removed when an environment is
deleted, so this map is bounded by the number of live environments.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Key = tuple[str, str]


class Triggers:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Key, threading.Lock] = {}
        self._pending: set[Key] = set()

    def _lock(self, key: Key) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def run(self, key: Key, fn: Callable[[], T]) -> T:
        """Run fn while holding the environment's lock (waits for a running sync)."""
        with self._lock(key):
            return fn()

    def coalesce(self, key: Key, fn: Callable[[], T], settle: float = 0.0) -> T | None:
        """Run fn unless a run for this key is already waiting: that one will see the same state.
        `settle` waits a moment first, so the rest of a burst (a StatefulSet's pods becoming
        ready one by one) joins this run instead of starting another full read."""
        with self._guard:
            if key in self._pending:
                return None
            self._pending.add(key)
        if settle:
            time.sleep(settle)
        lock = self._lock(key)
        with lock:
            with self._guard:
                self._pending.discard(key)
            return fn()

    def knows(self, key: Key) -> bool:
        """Whether this process has synced (or is syncing) this environment since it started."""
        with self._guard:
            return key in self._locks

    def forget(self, key: Key) -> None:
        with self._guard:
            self._locks.pop(key, None)
            self._pending.discard(key)

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)
