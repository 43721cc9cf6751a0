"""parity/memtrim.py: the periodic malloc_trim that gives a burst's freed memory back."""

from __future__ import annotations

import time

from parity.memtrim import MemoryTrimmer, find_malloc_trim


def test_glibc_trim_is_found_and_runs():
    trim = find_malloc_trim()
    assert trim is not None, "this machine's C library is glibc: malloc_trim must be found"
    assert trim(0) in (0, 1)  # 1: memory was released, 0: there was none to release


def test_the_trimmer_calls_trim_periodically_and_stops():
    calls = []
    trimmer = MemoryTrimmer(0.01, trim=lambda pad: calls.append(pad) or 1)
    trimmer.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    trimmer.stop()
    assert len(calls) >= 3 and set(calls) == {0}
    stopped_at = len(calls)
    time.sleep(0.05)
    assert len(calls) == stopped_at


def test_interval_zero_or_no_malloc_trim_means_no_thread():
    assert not MemoryTrimmer(0, trim=lambda pad: 1).active
    off = MemoryTrimmer(30, trim=None)
    off._trim = None  # a C library without malloc_trim (musl)
    assert not off.active
    off.start()
    off.stop()
    assert off._thread is None


def test_a_failing_trim_ends_the_thread_not_the_process():
    def broken(pad):
        raise OSError("no")

    trimmer = MemoryTrimmer(0.01, trim=broken)
    trimmer.start()
    trimmer._thread.join(5)
    assert not trimmer._thread.is_alive() and trimmer.passes == 0
