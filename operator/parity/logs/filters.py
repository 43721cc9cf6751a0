"""--since, --grep, --level and --trace: parsing the arguments (ValueError with the reason) and
keeping the lines that match all of them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parity.logs.lines import LEVEL_RANK, LogLine, detect_level, normalize_trace_id, trace_ids

FILTER_LEVELS = ("error", "warning")
_DURATION = re.compile(r"(\d+)(h|m|s)")
_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_since(text: str) -> int:
    """`10m`, `1h30m`, `45s`, `2h` -> seconds (as kubectl logs --since)."""
    text = text.strip()
    if not text or not re.fullmatch(r"(?:\d+[hms])+", text):
        raise ValueError(f"{text!r} is not a duration like 10m, 1h30m or 45s")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than 0s")
    return seconds


def compile_grep(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as err:
        raise ValueError(f"{text!r} is not a valid regular expression: {err}") from None


def parse_trace(text: str) -> str:
    trace = normalize_trace_id(text)
    if trace is None:
        raise ValueError(f"{text!r} is not a W3C trace id (32 hex digits, not all zero) or a traceparent")
    return trace


def parse_level(text: str) -> str:
    if text not in FILTER_LEVELS:
        raise ValueError(f"{text!r} is not one of {', '.join(FILTER_LEVELS)}")
    return text


@dataclass(frozen=True)
class LineFilter:
    """Keeps the lines that match every filter given. A line whose level cannot be read does
    not pass --level (it cannot be shown to be a warning)."""

    grep: re.Pattern[str] | None = None
    level: str | None = None
    trace: str | None = None

    def matches(self, line: LogLine) -> bool:
        if self.grep is not None and not self.grep.search(line.message):
            return False
        if self.level is not None:
            found = detect_level(line.message)
            if found is None or LEVEL_RANK[found] < LEVEL_RANK[self.level]:
                return False
        if self.trace is not None and self.trace not in trace_ids(line.message):
            return False
        return True
