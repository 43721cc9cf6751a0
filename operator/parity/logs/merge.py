"""Time order across containers.

Finished streams (no --follow) are each in time order, nearly: a container's stdout and stderr
share one log file, stamped by two readers, so neighbours can be out of order by a hair. Each
stream is put right within a small window, then a k-way merge. Followed
streams arrive interleaved as the threads read them, so a line is held for a short window after
it arrives and released in time order with whatever else arrived meanwhile.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from datetime import datetime, timezone
from typing import Iterable, Iterator, Sequence

from parity.logs.lines import LogLine

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _key(line: LogLine) -> datetime:
    return line.time or _EPOCH


def stamp_continuations(lines: Iterable[LogLine]) -> Iterator[LogLine]:
    """A line without a timestamp takes the time of the line before it in the same stream, so
    that a multi-line message stays together in the merge."""
    last: datetime | None = None
    for line in lines:
        if line.time is None and last is not None:
            line = LogLine(last, line.component, line.pod, line.container, line.message)
        elif line.time is not None:
            last = line.time
        yield line


# Lines of one stream displaced further than this are not expected: stdout and stderr of a
# container are read concurrently, so only lines written at nearly the same moment swap.
REORDER_WINDOW = 64


def reorder_within(lines: Iterable[LogLine], window: int = REORDER_WINDOW) -> Iterator[LogLine]:
    """The lines in time order, provided none is displaced by more than `window` lines; equal
    times keep their order (stable)."""
    heap: list[tuple[datetime, int, LogLine]] = []
    for index, line in enumerate(lines):
        heapq.heappush(heap, (_key(line), index, line))
        if len(heap) > window:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


def merge_streams(streams: Sequence[Iterable[LogLine]]) -> Iterator[LogLine]:
    """One time-ordered sequence; lines with equal times keep their stream's order, and streams
    are taken in the order given (stable)."""
    return heapq.merge(*(reorder_within(stamp_continuations(s)) for s in streams), key=_key)


def last_lines(lines: Iterable[LogLine], count: int | None) -> list[LogLine]:
    """The last `count` lines (all when None)."""
    if count is None:
        return list(lines)
    return list(deque(lines, maxlen=max(count, 0)))


class ReorderWindow:
    """Holds followed lines for `window` after they arrive and releases them in time order.

    push(line, now) adds a line that arrived at `now` (local monotonic or wall time, the same
    clock for every call) and returns what release(now) returns: the held lines, oldest first,
    taken while the oldest one has been held for `window`. So a backlog read at start (each
    stream's last lines) comes out merged, and a line is never held much longer than `window`
    after it arrived. A line that arrives later than the window behind one already released is
    shown when it comes (out of order) rather than lost."""

    def __init__(self, window: float = 1.0):
        self.window = window
        self._heap: list[tuple[datetime, int, float, LogLine]] = []
        self._counter = itertools.count()

    def push(self, line: LogLine, now: float) -> list[LogLine]:
        heapq.heappush(self._heap, (_key(line), next(self._counter), now, line))
        return self.release(now)

    def release(self, now: float) -> list[LogLine]:
        out = []
        while self._heap and self._heap[0][2] + self.window <= now:
            out.append(heapq.heappop(self._heap)[3])
        return out

    def flush(self) -> list[LogLine]:
        return [heapq.heappop(self._heap)[3] for _ in range(len(self._heap))]

    def __len__(self) -> int:
        return len(self._heap)
