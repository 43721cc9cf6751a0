"""Giving the memory of event bursts back to the system.

kopf parses every watch event into Python objects, and each object's queue worker keeps its
last event until it has been idle for a few seconds: while a hundred environments converge,
the bodies of all their children are alive at once (bench/bench_scale.py --memory-sites: the
largest site right after convergence is kopf's watch parsing). Freed afterwards, that memory
stays with the C allocator, which keeps free chunks for reuse, so the process's RSS stays at
the burst's peak. glibc's malloc_trim(0) hands the free pages back; it takes milliseconds and
runs here on its own thread every `interval` seconds. Where the C library has no malloc_trim
(musl), nothing runs.

What it gains is modest, and measured: at N=100 (bench_scale.py --envs 100) RSS went from its
197 MiB peak back to 188 MiB, where without it RSS stayed at the peak. Most of what is freed
is Python's own small-object memory, which it returns only in whole arenas.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim from the process's own symbols, or None."""
    try:
        symbols = ctypes.CDLL(None)
    except OSError:
        return None
    trim = getattr(symbols, "malloc_trim", None)
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


class MemoryTrimmer:
    """Calls malloc_trim(0) every `interval` seconds on a daemon thread until stop()."""

    def __init__(self, interval: float, trim: Callable[[int], int] | None = None) -> None:
        self.interval = interval
        self._trim = trim if trim is not None else find_malloc_trim()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    @property
    def active(self) -> bool:
        return self._trim is not None and self.interval > 0

    def start(self) -> None:
        if not self.active:
            return
        self._thread = threading.Thread(target=self._run, name="parity-memtrim", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._trim(0)
                self.passes += 1
            except Exception:  # noqa: BLE001 - a failed trim costs memory, never the operator
                log.exception("malloc_trim failed; not trying again")
                return

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
